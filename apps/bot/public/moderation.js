// Moderation page: review labels, approve/reject, ban/unban raters, delete images and dialogues,
// export. Every call carries the admin token; the server audits each action.
'use strict';

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};

let token = sessionStorage.getItem('vca-admin-token') || '';
$('#token').value = token;

async function api(method, path, body) {
  const res = await fetch('/api/moderation' + path, {
    method,
    headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = (await res.json()).message || message;
    } catch {}
    throw new Error(message);
  }
  return res;
}

function notice(text, bad = false) {
  const box = $('#notice');
  box.textContent = text;
  box.className = 'notice' + (bad ? ' bad' : '');
  box.hidden = false;
}

async function act(label, fn) {
  try {
    await fn();
    notice(label + ': done');
    await loadLabels();
  } catch (err) {
    notice(label + ' failed: ' + err.message, true);
  }
}

async function loadLabels() {
  const status = $('#filter-status').value;
  try {
    const labels = await (await api('GET', '/labels?limit=200' + (status ? '&status=' + status : ''))).json();
    $('#login-state').textContent = 'signed in';
    $('#labels').replaceChildren(...labels.map(labelRow));
  } catch (err) {
    $('#login-state').textContent = '';
    notice('Could not load labels: ' + err.message, true);
  }
}

function labelRow(l) {
  const status = l.revokedAt ? 'revoked' : l.moderationStatus;
  return el(
    'tr',
    { dataset: { testid: 'label-row', id: l.eventId } },
    el('td', {}, new Date(l.createdAt).toLocaleString()),
    el('td', {}, l.imageUrl ? el('img', { src: l.imageUrl, alt: '' }) : ''),
    el('td', {}, l.prompt || ''),
    el('td', {}, l.signal + ' · ' + l.source),
    el('td', {}, el('code', {}, l.raterId.slice(0, 10)), l.raterBanned ? el('span', { class: 'badge rejected' }, ' banned') : ''),
    el('td', {}, el('span', { class: 'badge ' + status }, status)),
    el(
      'td',
      {},
      el('button', { class: 'act', onclick: () => act('Approve', () => api('POST', `/labels/${l.eventId}/approve`)) }, 'Approve'),
      el('button', { class: 'act', onclick: () => act('Reject', () => api('POST', `/labels/${l.eventId}/reject`)) }, 'Reject'),
      l.raterBanned
        ? el('button', { class: 'act', onclick: () => act('Unban', () => api('POST', `/raters/${l.raterId}/unban`)) }, 'Unban rater')
        : el(
            'button',
            {
              class: 'act danger',
              onclick: () => {
                const reason = prompt('Why is this rater banned?');
                if (reason) act('Ban', () => api('POST', `/raters/${l.raterId}/ban`, { reason }));
              },
            },
            'Ban rater',
          ),
      el(
        'button',
        { class: 'act danger', onclick: () => confirm('Delete this image and its labels?') && act('Delete image', () => api('DELETE', `/images/${l.imageId}`)) },
        'Delete image',
      ),
      el(
        'button',
        {
          class: 'act danger',
          onclick: () => confirm('Delete the whole dialogue?') && act('Delete dialogue', () => api('DELETE', `/dialogues/${l.dialogueId}`)),
        },
        'Delete dialogue',
      ),
    ),
  );
}

async function loadRaters() {
  try {
    const raters = await (await api('GET', '/raters' + ($('#banned-only').checked ? '?banned=true' : ''))).json();
    $('#raters').replaceChildren(
      ...raters.map((r) =>
        el(
          'tr',
          { dataset: { testid: 'rater-row', id: r.id } },
          el('td', {}, el('code', {}, r.id.slice(0, 16))),
          el('td', {}, r.platform),
          el('td', {}, String(r.activeLabels)),
          el('td', {}, String(r.labelsLast24h ?? '')),
          el(
            'td',
            { title: r.comparedLabels ? `${r.comparedLabels} thumbs compared` : 'nothing to compare yet' },
            r.agreement === null || r.agreement === undefined ? '–' : Math.round(r.agreement * 100) + '%',
          ),
          el('td', {}, new Date(r.createdAt).toLocaleString()),
          el('td', {}, r.banned ? el('span', { class: 'badge rejected', title: r.bannedReason || '' }, 'banned: ' + (r.bannedReason || '')) : 'ok'),
          el(
            'td',
            {},
            r.banned
              ? el('button', { class: 'act', onclick: () => act('Unban', () => api('POST', `/raters/${r.id}/unban`)).then(loadRaters) }, 'Unban')
              : el(
                  'button',
                  {
                    class: 'act danger',
                    onclick: () => {
                      const reason = prompt('Why is this rater banned?');
                      if (reason) act('Ban', () => api('POST', `/raters/${r.id}/ban`, { reason })).then(loadRaters);
                    },
                  },
                  'Ban',
                ),
          ),
        ),
      ),
    );
  } catch (err) {
    notice('Could not load raters: ' + err.message, true);
  }
}

async function loadAudit() {
  try {
    const rows = await (await api('GET', '/audit?limit=200')).json();
    $('#audit').replaceChildren(
      ...rows.map((a) =>
        el('tr', {}, el('td', {}, new Date(a.createdAt).toLocaleString()), el('td', {}, a.action), el('td', {}, (a.targetType || '') + ' ' + (a.targetId || '')),
          el('td', {}, a.moderatorId || ''), el('td', {}, (a.reason ? a.reason + ' ' : ''), el('code', {}, JSON.stringify(a.details || {})))),
      ),
    );
  } catch (err) {
    notice('Could not load the audit log: ' + err.message, true);
  }
}

async function loadBlockedTerms() {
  try {
    const view = await (await api('GET', '/blocked-terms')).json();
    $('#global-terms').textContent = view.global.length ? 'Blocked everywhere (PROMPT_BLOCKLIST): ' + view.global.join(', ') : 'No global terms (PROMPT_BLOCKLIST is empty).';
    $('#blocked-terms').replaceChildren(
      ...view.workspace.map((t) =>
        el(
          'tr',
          { dataset: { testid: 'blocked-term-row' } },
          el('td', {}, el('code', {}, t.term)),
          el('td', {}, t.platform),
          el('td', {}, t.workspaceId),
          el('td', {}, t.createdBy),
          el('td', {}, new Date(t.createdAt).toLocaleString()),
          el(
            'td',
            {},
            el(
              'button',
              {
                class: 'act',
                onclick: () => {
                  const q = new URLSearchParams({ platform: t.platform, workspaceId: t.workspaceId, term: t.term });
                  blockAction('Unblock "' + t.term + '"', () => api('DELETE', '/blocked-terms?' + q));
                },
              },
              'Unblock',
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    notice('Could not load the block list: ' + err.message, true);
  }
}

async function blockAction(label, fn) {
  try {
    await fn();
    notice(label + ': done');
  } catch (err) {
    notice(label + ' failed: ' + err.message, true);
  }
  await loadBlockedTerms();
}

function metricsText(metrics) {
  return Object.entries(metrics || {})
    .map(([k, v]) => k + ' ' + (Number.isInteger(v) ? v : Number(v).toFixed(3)))
    .join(', ');
}

function stagesText(stages) {
  const lines = [];
  for (const [stage, communities] of Object.entries(stages || {})) {
    for (const [community, r] of Object.entries(communities || {})) {
      lines.push(`${stage} · ${community}: ${r.decision}${r.reason ? ' — ' + r.reason : ''}${r.metrics ? ' (' + metricsText(r.metrics) + ')' : ''}`);
    }
  }
  return lines.join('\n');
}

async function loadTraining() {
  try {
    const [runs, versions] = await Promise.all([
      api('GET', '/training-runs?limit=20').then((r) => r.json()),
      api('GET', '/model-versions?kind=reward').then((r) => r.json()),
    ]);
    $('#training-runs').replaceChildren(
      ...runs.map((run) =>
        el(
          'tr',
          { dataset: { testid: 'training-run', id: run.id } },
          el('td', {}, new Date(run.finishedAt || run.startedAt || run.createdAt).toLocaleString()),
          el('td', {}, run.trigger),
          el('td', {}, el('span', { class: 'badge ' + run.status }, run.status), run.status === 'running' && run.progress && run.progress.message ? ' ' + run.progress.message : ''),
          el('td', {}, el('pre', { class: 'report' }, stagesText(run.stages))),
          el('td', {}, el('pre', { class: 'report', dataset: { testid: 'run-report' } }, run.report || run.error || '')),
        ),
      ),
    );
    $('#model-versions').replaceChildren(
      ...versions.map((v) =>
        el(
          'tr',
          { dataset: { testid: 'model-version', id: v.id } },
          el('td', {}, el('code', {}, v.name)),
          el('td', {}, v.communityId || 'global'),
          el('td', {}, new Date(v.createdAt).toLocaleString()),
          el('td', {}, metricsText(v.metrics)),
          el('td', {}, v.active ? el('span', { class: 'badge approved' }, 'active') : v.notes && v.notes.rolledBackAt ? 'rolled back' : ''),
          el(
            'td',
            {},
            v.active
              ? el('button', { class: 'act', dataset: { testid: 'rollback' }, onclick: () => trainingAction('Roll back', () => api('POST', '/model-versions/rollback', { kind: 'reward', communityId: v.communityId })) }, 'Roll back')
              : el('button', { class: 'act', dataset: { testid: 'activate' }, onclick: () => trainingAction('Activate ' + v.name, () => api('POST', `/model-versions/${v.id}/activate`)) }, 'Activate'),
          ),
        ),
      ),
    );
  } catch (err) {
    notice('Could not load training runs: ' + err.message, true);
  }
}

async function trainingAction(label, fn) {
  try {
    const res = await fn();
    const body = await res.json().catch(() => ({}));
    notice(label + ': done' + (body.jobId ? ` (job ${body.jobId}; its report appears here when it ends)` : ''));
  } catch (err) {
    notice(label + ' failed: ' + err.message, true);
  }
  await loadTraining();
}

async function download(name) {
  try {
    const blob = await (await api('GET', '/export/' + name)).blob();
    const a = el('a', { href: URL.createObjectURL(blob), download: 'vca-' + name });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) {
    notice('Export failed: ' + err.message, true);
  }
}

$('#login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('#token').value.trim();
  sessionStorage.setItem('vca-admin-token', token);
  loadLabels();
});
$('#refresh').addEventListener('click', loadLabels);
$('#block-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const term = $('#block-term').value.trim();
  if (!term) return;
  const body = { platform: $('#block-platform').value, workspaceId: $('#block-workspace').value.trim() || 'local', term };
  blockAction('Block "' + term + '"', () => api('POST', '/blocked-terms', body)).then(() => ($('#block-term').value = ''));
});
$('#banned-only').addEventListener('change', loadRaters);
$('#train-now').addEventListener('click', () => trainingAction('Training run', () => api('POST', '/training-runs', { requireApproval: $('#train-approved').checked })));
$('#training-refresh').addEventListener('click', loadTraining);
$('#rollback-global').addEventListener('click', () => trainingAction('Roll back', () => api('POST', '/model-versions/rollback', { kind: 'reward', communityId: null })));
$('#filter-status').addEventListener('change', loadLabels);
for (const b of document.querySelectorAll('[data-export]')) b.addEventListener('click', () => download(b.dataset.export));
for (const b of document.querySelectorAll('[data-tab]')) {
  b.addEventListener('click', () => {
    for (const other of document.querySelectorAll('[data-tab]')) {
      other.classList.toggle('on', other === b);
      $('#tab-' + other.dataset.tab).hidden = other !== b;
    }
    if (b.dataset.tab === 'audit') loadAudit();
    if (b.dataset.tab === 'raters') loadRaters();
    if (b.dataset.tab === 'blocklist') loadBlockedTerms();
    if (b.dataset.tab === 'training') loadTraining();
    if (b.dataset.tab === 'labels') loadLabels();
  });
}
if (token) loadLabels();
