// @vca/reward — the community reward model r_φ(p, x): features from the frozen dual encoder,
// a trained head, DPO / Bradley–Terry training on preference pairs, scoring. See README.md.
export * from './reward-scorer.port';
export * from './features/encoder-taps.util';
export * from './features/dual-encoder.features';
export * from './head/reward-head.graph';
export * from './head/reward-head.session';
export * from './training/feature-table';
export * from './training/reward-head.trainer';
export * from './training/pair-accuracy';
export * from './training/reward-tower.trainer';
export * from './training/reward-model.trainer';
export * from './model/image-feature.graph';
export * from './model/reward-version.store';
export * from './model/reward.scorer';
export * from './fixture/fixture-version.writer';
