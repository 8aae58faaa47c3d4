// VCA web chat: a thread list, one dialogue per thread, live round updates over SSE.
// Plain browser JavaScript so the bot serves it with no build step.
'use strict';

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};

// Pseudonymous web identity: a random id kept in this browser (the core hashes it into a rater id).
function webUser() {
  let id = localStorage.getItem('vca-user');
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem('vca-user', id);
  }
  return id;
}
const USER = webUser();

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', 'x-vca-user': USER },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const message = (data && (Array.isArray(data.message) ? data.message.join('; ') : data.message)) || res.statusText;
    throw new Error(message);
  }
  return data;
}

const state = {
  threads: [],
  current: null, // ThreadDetail
  live: {}, // roundId -> { position, step, totalSteps }
  source: null,
};

// ---- thread list -------------------------------------------------------------------------------

async function loadThreads() {
  try {
    state.threads = await api('GET', '/api/threads');
    renderThreads();
  } catch (err) {
    console.warn('thread list', err);
  }
}

function renderThreads() {
  const nav = $('#threads');
  const mine = state.threads.filter((t) => t.mine);
  const others = state.threads.filter((t) => !t.mine);
  nav.replaceChildren(
    ...[
      mine.length ? el('div', { class: 'section' }, 'Your threads') : null,
      ...mine.map(threadItem),
      others.length ? el('div', { class: 'section' }, 'Community') : null,
      ...others.map(threadItem),
    ].filter(Boolean),
  );
}

function threadItem(t) {
  return el(
    'button',
    {
      class: 'thread-item' + (state.current && state.current.id === t.id ? ' active' : ''),
      dataset: { testid: 'thread-item', id: t.id },
      title: t.title,
      onclick: () => (location.hash = '#/t/' + t.id),
    },
    el('span', { class: 'title' }, t.title),
    el('span', { class: 'n', title: 'rounds' }, String(t.roundCount)),
  );
}

// ---- current thread ----------------------------------------------------------------------------

async function openThread(id) {
  closeStream();
  state.live = {};
  if (!id) {
    state.current = null;
    render();
    renderThreads();
    return;
  }
  try {
    state.current = await api('GET', '/api/threads/' + encodeURIComponent(id));
  } catch (err) {
    state.current = null;
    showComposerError('Could not open the thread: ' + err.message);
  }
  if (state.current) {
    for (const round of state.current.rounds) {
      if (round.queuePosition !== undefined) state.live[round.id] = { position: round.queuePosition };
    }
  }
  render();
  renderThreads();
  if (state.current) openStream(state.current.id);
}

function openStream(id) {
  const source = new EventSource('/api/threads/' + encodeURIComponent(id) + '/events');
  state.source = source;
  source.addEventListener('open', () => {
    $('#connection').className = 'connection live';
    // Updates published before this stream was listening are read back here: on the first open,
    // those between the thread's GET and now (a fast round can finish in that gap); after a
    // reconnect (EventSource does it by itself), those sent while it was away.
    refreshThread(id);
  });
  source.addEventListener('error', () => {
    $('#connection').className = 'connection down';
  });
  source.addEventListener('round', (ev) => onRoundUpdate(JSON.parse(ev.data)));
}

async function refreshThread(id) {
  try {
    const fresh = await api('GET', '/api/threads/' + encodeURIComponent(id));
    if (!state.current || state.current.id !== id) return;
    // A round that finished over SSE while this GET was on its way stays finished.
    const finished = new Map(state.current.rounds.filter((r) => r.status === 'completed' || r.status === 'failed').map((r) => [r.id, r]));
    fresh.rounds = fresh.rounds.map((r) => (finished.has(r.id) && r.status !== 'completed' && r.status !== 'failed' ? finished.get(r.id) : r));
    state.current = fresh;
    for (const round of fresh.rounds) {
      if (round.queuePosition !== undefined) (state.live[round.id] ||= {}).position = round.queuePosition;
    }
    render();
  } catch (err) {
    console.warn('refresh', err);
  }
}

function closeStream() {
  if (state.source) state.source.close();
  state.source = null;
  $('#connection').className = 'connection';
}

function onRoundUpdate(update) {
  const thread = state.current;
  if (!thread || update.dialogueId !== thread.id) return;
  const live = (state.live[update.roundId] ||= {});
  const round = thread.rounds.find((r) => r.id === update.roundId);
  switch (update.kind) {
    case 'queued':
      live.position = update.position;
      if (round && round.status !== 'completed' && round.status !== 'failed') round.status = 'queued';
      break;
    case 'started':
      live.position = 0;
      if (round && round.status === 'queued') round.status = 'running';
      break;
    case 'retrying':
      live.retry = update.reason;
      delete live.totalSteps;
      break;
    case 'progress':
      // ETA from the pace of this attempt's steps so far.
      if (!live.t0 || update.step <= (live.step0 ?? 0) || live.retry) {
        live.t0 = performance.now();
        live.step0 = update.step;
      }
      delete live.retry;
      live.step = update.step;
      live.totalSteps = update.totalSteps;
      live.position = 0;
      if (round && round.status === 'queued') round.status = 'running';
      break;
    case 'completed': {
      // The completed update carries the round with its images; ratings of this viewer are
      // merged in by refetching only when the round is unknown here.
      const idx = thread.rounds.findIndex((r) => r.id === update.roundId);
      if (idx >= 0) thread.rounds[idx] = update.round;
      else thread.rounds.push(update.round);
      delete state.live[update.roundId];
      loadThreads();
      break;
    }
    case 'rated':
      // Someone rated: take the new counts and kept image, keep this viewer's own ratings.
      if (round) {
        const mine = new Map(round.images.map((i) => [i.id, i.mine]));
        const idx = thread.rounds.indexOf(round);
        thread.rounds[idx] = { ...update.round, images: update.round.images.map((i) => ({ ...i, mine: mine.get(i.id) || [] })) };
      }
      break;
    case 'failed':
      if (round) {
        round.status = 'failed';
        round.error = update.reason;
      }
      delete state.live[update.roundId];
      loadThreads();
      break;
  }
  renderRound(update.roundId);
}

// ---- rendering ---------------------------------------------------------------------------------

function render() {
  const thread = state.current;
  const last = thread && thread.rounds[thread.rounds.length - 1];
  $('#thread-title').textContent = thread ? (last ? last.refinedPrompt : thread.title) : 'New dialogue';
  $('#delete-thread').hidden = !(thread && thread.mine);
  $('#input').placeholder = thread
    ? 'Tell the bot what to change — e.g. “make the sky red”, “no trees”, “more clouds”'
    : 'Describe an image to start a dialogue…';
  const box = $('#messages');
  if (!thread) {
    box.replaceChildren($('#welcome') || welcome());
    $('#welcome').hidden = false;
    return;
  }
  box.replaceChildren(...thread.rounds.map(roundNode));
  box.scrollTop = box.scrollHeight;
}

function welcome() {
  return el('div', { class: 'welcome', id: 'welcome' }, el('h2', {}, 'Describe an image to start a dialogue'));
}

function renderRound(roundId) {
  const thread = state.current;
  const round = thread && thread.rounds.find((r) => r.id === roundId);
  if (!round) return;
  const old = document.querySelector(`[data-round="${roundId}"]`);
  const box = $('#messages');
  const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const node = roundNode(round);
  if (old) old.replaceWith(node);
  else box.append(node);
  if (stick) box.scrollTop = box.scrollHeight;
}

function time(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

const ORIGIN_LABEL = { reroll: 'Reroll', vary: 'Vary' };

function roundNode(round) {
  const thread = state.current;
  const parent = round.parentImageId && findImage(round.parentImageId);
  return el(
    'div',
    { class: 'round', dataset: { round: round.id, testid: 'round', status: round.status } },
    el(
      'div',
      { class: 'msg' },
      el('div', { class: 'avatar user' }, 'U'),
      el(
        'div',
        { class: 'body' },
        el('div', { class: 'who' }, ORIGIN_LABEL[round.origin] || (round.index === 1 ? 'Prompt' : 'Feedback'),
          el('small', {}, time(round.createdAt))),
        el('div', { class: 'text' }, round.userText),
      ),
    ),
    el(
      'div',
      { class: 'msg' },
      el('div', { class: 'avatar bot' }, '◐'),
      el(
        'div',
        { class: 'body' },
        el('div', { class: 'who' }, 'VCA', el('small', {}, `round ${round.index}`)),
        el('div', { class: 'understood', dataset: { testid: 'refined-prompt' } }, 'Understood: ', el('code', {}, round.refinedPrompt)),
        editsNode(round),
        parent
          ? el(
              'div',
              { class: 'status parent' },
              el('img', { src: parent.image.url, alt: '' }),
              `Starting from candidate ${parent.image.candidateIndex + 1} of round ${parent.round.index}`,
            )
          : null,
        statusNode(round),
        round.images.length ? el('div', { class: 'grid' }, round.images.map((img) => imageCard(round, img))) : null,
        round.scoredBy ? el('div', { class: 'scored-by', dataset: { testid: 'scored-by' } }, 'scored by ' + round.scoredBy) : null,
        round.status === 'completed' || round.status === 'failed'
          ? el(
              'div',
              { class: 'round-actions' },
              el(
                'button',
                {
                  class: 'action',
                  title: 'Same prompt and starting image, new seeds',
                  dataset: { testid: 'reroll' },
                  onclick: (ev) => requestRound(ev.currentTarget, `/api/rounds/${round.id}/reroll`),
                },
                '↻ Reroll',
              ),
            )
          : null,
      ),
    ),
  );
  function findImage(id) {
    for (const r of thread.rounds) for (const image of r.images) if (image.id === id) return { round: r, image };
    return null;
  }
}

const EDIT_TEXT = {
  replace: (e) => `${e.from} → ${e.to}`,
  add: (e) => `+ ${e.to}`,
  remove: (e) => `− ${e.from}`,
  negate: (e) => `avoid ${e.to || e.from}`,
  more: (e) => `more ${e.to || e.from}`,
  less: (e) => `less ${e.to || e.from}`,
  correct: (e) => `${e.from ? e.from + ' → ' : ''}${e.to}`,
  rewrite: () => 'rewritten',
};

/** The refiner's edits as chips, so users see how their words changed the prompt. */
function editsNode(round) {
  const edits = (round.edits || []).filter((e) => EDIT_TEXT[e.kind]);
  if (!edits.length && !round.negativePrompt) return null;
  return el(
    'div',
    { class: 'edits', dataset: { testid: 'edits' } },
    edits.map((e) => el('span', { class: 'chip ' + e.kind }, EDIT_TEXT[e.kind](e))),
    // The negative prompt carries over between rounds; this round's own negations are chips already.
    round.negativePrompt && !edits.some((e) => e.kind === 'negate')
      ? el('span', { class: 'chip negative', title: 'negative prompt' }, 'avoiding: ' + round.negativePrompt)
      : null,
  );
}

function statusNode(round) {
  if (round.status === 'failed') {
    return el('div', { class: 'error', dataset: { testid: 'round-error' } }, 'This round failed: ' + (round.error || 'unknown error'));
  }
  if (round.status === 'completed') return null;
  const live = state.live[round.id] || {};
  const retry = live.retry
    ? el('div', { class: 'status', dataset: { testid: 'round-retry' } }, 'An attempt failed (' + live.retry + '); trying again…')
    : null;
  if (live.totalSteps) {
    const pct = Math.round((100 * live.step) / live.totalSteps);
    return el(
      'div',
      { class: 'status', dataset: { testid: 'round-progress' } },
      `Generating… step ${live.step}/${live.totalSteps} (${pct}%)` + eta(live),
      el('div', { class: 'progress' }, el('div', { style: `width:${pct}%` })),
      retry,
    );
  }
  const text =
    round.status === 'running' && !live.position
      ? 'Generating…'
      : live.position === undefined || live.position === null
      ? 'Waiting for a GPU worker…'
      : live.position === 0
        ? 'Starting…'
        : `In queue: position ${live.position}`;
  return el('div', { class: 'status', dataset: { testid: 'round-queue' } }, text, retry);
}

function eta(live) {
  const done = live.step - live.step0;
  if (done <= 0) return '';
  const perStep = (performance.now() - live.t0) / done;
  const seconds = Math.ceil((perStep * (live.totalSteps - live.step)) / 1000);
  return seconds > 0 ? ` · about ${seconds}s left` : '';
}

const SIGNALS = [
  // Geometric symbols rather than emoji: they render with any system font.
  { signal: 'up', label: '▲', title: 'Thumbs up' },
  { signal: 'down', label: '▼', title: 'Thumbs down' },
  { signal: 'pick', label: '★', title: 'Pick: keep this one for the next round' },
  { signal: 'tie', label: '=', title: 'Tie: as good as the other candidates you mark with =' },
];

function imageCard(round, img) {
  return el(
    'div',
    { class: 'card' + (img.kept ? ' kept' : ''), dataset: { testid: 'candidate', image: img.id } },
    el('img', {
      src: img.url,
      alt: `candidate ${img.candidateIndex + 1}`,
      loading: 'lazy',
      onclick: () => openLightbox(round, img),
    }),
    el(
      'div',
      { class: 'bar' },
      el('span', { class: 'idx' }, '#' + (img.candidateIndex + 1) + (img.kept ? ' · kept' : '')),
      img.score
        ? el(
            'span',
            { class: 'score', title: `Reward model score (cosine ${img.score.cosine.toFixed(2)})`, dataset: { testid: 'score' } },
            '★ ' + img.score.reward.toFixed(2),
          )
        : null,
      el(
        'button',
        {
          class: 'rate vary',
          title: 'Vary: subtle variations of this candidate (same prompt)',
          dataset: { testid: 'vary' },
          onclick: (ev) => requestRound(ev.currentTarget, `/api/images/${img.id}/vary`),
        },
        'V',
      ),
      SIGNALS.map(({ signal, label, title }) => {
        const on = img.mine.includes(signal);
        const n = img.counts[signal] || 0;
        return el(
          'button',
          {
            class: 'rate' + (on ? ' on' : ''),
            title: on ? title + ' (click again to take it back)' : title,
            'aria-pressed': on ? 'true' : 'false',
            dataset: { testid: 'rate-' + signal },
            onclick: (ev) => rate(ev.currentTarget, round, img, signal, on),
          },
          label + (n ? ' ' + n : ''),
        );
      }),
    ),
  );
}

async function rate(button, round, img, signal, on) {
  button.disabled = true;
  try {
    const updated = on
      ? await api('DELETE', `/api/images/${img.id}/feedback/${signal}`)
      : await api('POST', `/api/images/${img.id}/feedback`, { signal, eventId: crypto.randomUUID() });
    const rounds = state.current.rounds;
    const idx = rounds.findIndex((r) => r.id === updated.id);
    if (idx >= 0) rounds[idx] = updated;
    renderRound(updated.id);
    hideComposerError();
  } catch (err) {
    button.disabled = false;
    showComposerError('Rating failed: ' + err.message);
  }
}

/** Reroll / vary: one request id per click, so a retried request cannot start a second round. */
async function requestRound(button, path) {
  button.disabled = true;
  hideComposerError();
  try {
    const round = await api('POST', path, { requestId: crypto.randomUUID() });
    if (!state.current.rounds.some((r) => r.id === round.id)) state.current.rounds.push(round);
    renderRound(round.id);
    loadThreads();
  } catch (err) {
    showComposerError(err.message);
  } finally {
    button.disabled = false;
  }
}

function openLightbox(round, img) {
  $('#lightbox-img').src = img.url;
  $('#lightbox-caption').textContent =
    `Round ${round.index}, candidate ${img.candidateIndex + 1} · seed ${img.seed}` +
    (img.strength !== null ? ` · strength ${img.strength.toFixed(2)}` : '') +
    ` · ${img.steps} steps · guidance ${img.guidanceScale} · model ${img.modelVersion}` +
    (img.score ? ` · reward ${img.score.reward.toFixed(3)} · cosine ${img.score.cosine.toFixed(3)}` : '');
  $('#lightbox').hidden = false;
}
$('#lightbox').addEventListener('click', () => ($('#lightbox').hidden = true));

// ---- composer ----------------------------------------------------------------------------------

function showComposerError(message) {
  const box = $('#composer-error');
  box.textContent = message;
  box.hidden = false;
}
function hideComposerError() {
  $('#composer-error').hidden = true;
}

async function send(text) {
  const button = $('#send');
  button.disabled = true;
  hideComposerError();
  try {
    if (!state.current) {
      const thread = await api('POST', '/api/threads', { prompt: text });
      $('#input').value = '';
      await loadThreads();
      location.hash = '#/t/' + thread.id;
    } else {
      const round = await api('POST', `/api/threads/${state.current.id}/messages`, { text });
      $('#input').value = '';
      if (!state.current.rounds.some((r) => r.id === round.id)) state.current.rounds.push(round);
      renderRound(round.id);
      $('#thread-title').textContent = round.refinedPrompt;
      loadThreads();
    }
  } catch (err) {
    showComposerError(err.message);
  } finally {
    button.disabled = false;
    loadQuota();
  }
}

$('#composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('#input').value.trim();
  if (!text) return showComposerError('Write a prompt first.');
  send(text);
});
$('#input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    $('#composer').requestSubmit();
  }
});
$('#new-thread').addEventListener('click', () => {
  location.hash = '';
  $('#input').focus();
});

$('#delete-thread').addEventListener('click', async () => {
  const thread = state.current;
  if (!thread || !confirm('Delete this thread, its images and their ratings?')) return;
  try {
    await api('DELETE', '/api/threads/' + thread.id);
    location.hash = '';
    await loadThreads();
  } catch (err) {
    showComposerError('Could not delete the thread: ' + err.message);
  }
});

function route() {
  const m = location.hash.match(/^#\/t\/([\w-]+)/);
  openThread(m ? m[1] : null);
}
window.addEventListener('hashchange', route);
$('#whoami').textContent = 'You are guest-' + USER.slice(0, 8);

/** The footer says how many rounds are left when the server sets a daily quota. */
async function loadQuota() {
  try {
    const q = await api('GET', '/api/quota');
    const base = 'You are guest-' + USER.slice(0, 8);
    if (q.limit === null) return void ($('#whoami').textContent = base);
    const frees = q.remaining === 0 && q.resetsAt ? ' · next at ' + new Date(q.resetsAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
    $('#whoami').textContent = base + ' · ' + q.remaining + '/' + q.limit + ' rounds left today' + frees;
  } catch {
    // the footer is informational
  }
}
loadQuota();
loadThreads();
route();
setInterval(loadThreads, 10_000);
