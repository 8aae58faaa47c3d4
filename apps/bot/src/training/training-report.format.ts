import type { ModelVersionEntity, TrainingRunEntity } from '@vca/core';

/** Metrics worth a chat line, in this order; the rest stay on the web page and the API. */
const KEY_METRICS = ['heldout_pair_accuracy', 'pair_accuracy', 'baseline_pair_accuracy', 'accuracy', 'heldout_accuracy', 'pairs', 'loss'];

function metricText(metrics: Record<string, number> | undefined, max = 3): string {
  if (!metrics) return '';
  const names = Object.keys(metrics);
  const chosen = [...KEY_METRICS.filter((k) => k in metrics), ...names.filter((k) => !KEY_METRICS.includes(k))].slice(0, max);
  return chosen.map((k) => `${k} ${fmt(metrics[k]!)}`).join(', ');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3);
}

function shortId(id: string): string {
  return id.slice(0, 8);
}

/** One line per stage and community: `reward · global: promoted — reason (metrics)`. */
export function stageLines(run: Pick<TrainingRunEntity, 'stages'>): string[] {
  const lines: string[] = [];
  for (const [stage, communities] of Object.entries(run.stages ?? {})) {
    for (const [community, r] of Object.entries(communities ?? {})) {
      const metrics = metricText(r.metrics);
      lines.push(`${stage} · ${community}: ${r.decision}${r.reason ? ` — ${r.reason}` : ''}${metrics ? ` (${metrics})` : ''}`);
    }
  }
  return lines;
}

/**
 * The moderators' channel post when a run ends: status, then the run's own report (written by the
 * training pipeline) or, without one, a line per stage decision with its reason and key metrics.
 */
export function formatRunReport(run: TrainingRunEntity): string {
  const took = run.startedAt && run.finishedAt ? ` in ${Math.max(1, Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000))} s` : '';
  const header = `Training run ${shortId(run.id)} (${run.trigger}) ${run.status}${took}`;
  const body = run.report?.trim() ? [run.report.trim()] : stageLines(run);
  if (run.error && !run.report?.includes(run.error)) body.push(`error: ${run.error}`);
  return [header, ...body].join('\n');
}

/** A run in a list (`/vca-mod runs`). */
export function formatRunLine(run: TrainingRunEntity): string {
  const when = (run.finishedAt ?? run.startedAt ?? run.createdAt).toISOString().slice(0, 16).replace('T', ' ');
  const stages = stageLines(run);
  const progress = run.status === 'running' && run.progress?.message ? ` — ${run.progress.message}` : '';
  return [`\`${shortId(run.id)}\` ${when} UTC ${run.trigger} **${run.status}**${progress}`, ...stages.map((s) => `  · ${s}`)].join('\n');
}

/** A model version in a list (`/vca-mod versions`). */
export function formatVersionLine(v: ModelVersionEntity): string {
  const metrics = metricText(v.metrics);
  const rolledBack = v.notes?.rolledBackAt ? ' (rolled back)' : '';
  return `${v.active ? '✅' : '▫️'} \`${v.name}\` ${v.kind} · ${v.communityId ?? 'global'}${rolledBack}${metrics ? ` — ${metrics}` : ''} · \`${shortId(v.id)}\``;
}
