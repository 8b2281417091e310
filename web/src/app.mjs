// The playground's page (index.html): the nav, the ?lesson= router and the start page, all
// from the one lesson list (lessons.mjs). No ?lesson=: the start page, the lecture's table of
// contents with a live preview per lesson from the wasm core. A known lesson: its element
// alone (its module is imported on demand), with `sync-url`. An unknown one: a message and
// the list. Each lesson's URL hash is kept per tab (sessionStorage), so the nav and the
// cards bring a lesson back as it was left; in an iframe (or with ?embed) the lesson comes
// without the site's header.
import { lessonById, LESSONS, SECTIONS } from './lessons.mjs';
import { importLesson, packageJsonUrl } from './resolve.mjs';
import { quantlab } from './runtime.mjs';
import { esc } from './ui.mjs';

const params = new URLSearchParams(location.search);
const asked = params.get('lesson');
const current = asked === null ? null : lessonById(asked);
const main = document.querySelector('main');
const hashKey = (id) => `quantlab.hash.${id}`;

if (window.self !== window.top || params.has('embed')) document.documentElement.classList.add('embedded');

/** The link that opens lesson `id` with the state it was left in (this tab). */
function lessonHref(id) {
  let hash = '';
  try {
    hash = sessionStorage.getItem(hashKey(id)) ?? '';
  } catch {
    // Storage refused (a sandboxed iframe): plain links.
  }
  return `?lesson=${encodeURIComponent(id)}${hash}`;
}

function saveHash() {
  if (!current?.available) return;
  try {
    sessionStorage.setItem(hashKey(current.id), location.hash);
  } catch {
    // as above
  }
}

/** Lesson links refresh their href when followed, so they carry the latest saved state. */
function lessonLink(row, text = row.title) {
  const a = document.createElement('a');
  a.href = lessonHref(row.id);
  a.dataset.lesson = row.id;
  a.dataset.section = row.section;
  a.textContent = text;
  a.addEventListener('click', () => {
    saveHash();
    a.href = lessonHref(row.id);
  });
  return a;
}

function buildNav() {
  const nav = document.querySelector('nav[data-testid=nav]');
  const home = document.createElement('a');
  home.href = './';
  home.textContent = 'Contents';
  home.dataset.home = '';
  if (!current) home.setAttribute('aria-current', 'page');
  home.addEventListener('click', saveHash);
  const links = LESSONS.filter((l) => l.available).map((l) => {
    const a = lessonLink(l);
    if (l === current) a.setAttribute('aria-current', 'page');
    return a;
  });
  nav.replaceChildren(home, ...links);
}

function unknownLesson(name, row) {
  const box = document.createElement('section');
  box.dataset.testid = 'unknown-lesson';
  box.setAttribute('role', 'alert');
  const p = document.createElement('p');
  p.textContent = row ? `The lesson '${name}' (${row.section} ${row.title}) is not written yet. The lessons are:`
    : `There is no lesson '${name}'. The lessons are:`;
  const list = document.createElement('ul');
  for (const row of LESSONS) {
    const item = document.createElement('li');
    if (row.available) item.append(`${row.section} `, lessonLink(row));
    else item.textContent = `${row.section} ${row.title} (coming)`;
    list.append(item);
  }
  box.append(p, list);
  main.replaceChildren(box);
}

function startPage() {
  const page = document.createElement('section');
  page.className = 'contents';
  page.dataset.testid = 'start';
  page.innerHTML = `<h2>Lecture 5: quantization, in the order of the lecture</h2>
    <p class="intro">Each card asks the question its lesson answers. The line under it is computed just now
    by the WebAssembly core, on the lecture's own 4×4 weight matrix where there is one.</p>`;
  for (const s of SECTIONS) {
    const rows = LESSONS.filter((l) => l.section === s.section);
    const block = document.createElement('section');
    block.className = 'section';
    block.dataset.section = s.section;
    block.innerHTML = `<h3><span class="num">${esc(s.section)}</span> ${esc(s.title)}</h3><ol class="cards"></ol>`;
    const list = block.querySelector('ol');
    for (const row of rows) {
      const card = document.createElement('li');
      card.className = row.available ? 'card' : 'card coming';
      card.dataset.lesson = row.id;
      card.dataset.testid = `card-${row.id}`;
      card.innerHTML = `<p class="question">${esc(row.question)}</p>
        <p class="title"><span class="num">${esc(row.section)}</span> ${esc(row.title)}</p>
        <p class="preview" data-testid="preview-${esc(row.id)}">${row.preview ? 'computing…' : ''}</p>`;
      if (row.available) {
        const open = lessonLink(row, `Open: ${row.title}`);
        open.className = 'open';
        card.append(open);
      } else {
        const badge = document.createElement('p');
        badge.className = 'badge';
        badge.textContent = 'coming';
        card.append(badge);
      }
      list.append(card);
    }
    page.append(block);
  }
  main.replaceChildren(page);
  return page;
}

async function previews(page) {
  const ql = await quantlab();
  for (const row of LESSONS) {
    const box = page.querySelector(`[data-testid="preview-${row.id}"]`);
    if (!row.preview || !box) continue;
    try {
      box.textContent = row.preview(ql);
    } catch (e) {
      box.textContent = `${e?.code ?? 'ERROR'}: ${e?.message ?? e}`;
    }
  }
  page.dataset.ready = 'true';
}

/** The about line: which build runs and the package's version (its package.json, next to the entry). */
async function about(el) {
  const build = document.getElementById('build');
  const simd = el && el.localName !== 'ql-linear'
    ? customElements.whenDefined(el.localName).then(() => el.tasks.call('about')).then((a) => a.simd)
    : quantlab().then((ql) => ql.simd);
  const version = fetch(packageJsonUrl())
    .then((r) => (r.ok ? r.json() : null)).then((p) => p?.version ?? null, () => null);
  try {
    const [yes, v] = await Promise.all([simd, version]);
    build.textContent = `${yes ? 'SIMD128 build' : 'scalar build'}${v ? `, quantlab ${v}` : ''}`;
  } catch {
    build.textContent = 'the WebAssembly module did not load';
  }
}

buildNav();
addEventListener('pagehide', saveHash);
let el = null;
if (asked === null) {
  previews(startPage());
} else if (!current || !current.available) {
  unknownLesson(asked, current);
} else {
  document.title = `${current.section} ${current.title} · quantlab`;
  el = document.createElement(current.tag);
  el.setAttribute('sync-url', '');
  // A lesson opened afresh (no state in the link) may start computing at once.
  if (current.autorun && !location.hash) el.setAttribute('autorun', '');
  el.dataset.testid = `lesson-${current.id}`;
  main.replaceChildren(el);
  el.addEventListener('change', saveHash);
  await importLesson(current.module);
}
about(el);
