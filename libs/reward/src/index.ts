// @vca/reward — the community reward model r_φ(p, x): features from the frozen dual encoder,
// a trained head, DPO / Bradley–Terry training on preference pairs, scoring. See README.md.
export * from './reward-scorer.port';
