// zone-editor.js — draws motion activity zones on a picture of the camera. An SVG over the
// picture (16:9, coordinates 0-1 scaled to a 1600×900 view box, so no inline styles are
// needed): a click on the picture adds a corner to the zone being drawn (starting one);
// clicking its first corner, "Close zone" or Enter closes it (3 corners at least); Escape
// drops it. Corners of any zone can be dragged. A click inside a finished zone selects it;
// "Delete zone" (or Delete) removes it. Up to 8 zones of up to 32 corners, each covering some
// area, as the server checks (kankan-motion). The zone list under the picture names each zone
// with a delete button for keyboard and screen-reader users.

import { h } from './ui.js';
import { icon } from './icons.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 1600;
const H = 900;
export const MAX_ZONES = 8;
export const MAX_POINTS = 32;
/** The least share of the picture a zone must cover (the server's MIN_AREA). */
const MIN_AREA = 0.0005;
/** A pointer within this many CSS pixels of a corner grabs it. */
const GRAB_PX = 14;

function svg(tag, attrs = {}) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value != null) el.setAttribute(key === 'testid' ? 'data-testid' : key, String(value));
  }
  return el;
}

const clamp01 = (v) => Math.min(1, Math.max(0, v));
const round = (v) => Math.round(v * 1000) / 1000;

/** The polygon's area as a share of the picture (shoelace formula). */
export function polygonArea(points) {
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i];
    const b = points[(i + 1) % points.length];
    sum += a.x * b.y - b.x * a.y;
  }
  return Math.abs(sum) / 2;
}

/** What is wrong with a zone's corners, mirroring the server's codes; null when fine. */
export function zoneProblem(points) {
  if (points.length < 3 || points.length > MAX_POINTS) return `A zone needs 3 to ${MAX_POINTS} corners.`;
  if (points.some((p) => !(p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1))) return 'A zone must lie inside the picture.';
  if (polygonArea(points) < MIN_AREA) return 'These corners enclose almost no area. Spread them out.';
  return null;
}

/**
 * The editor. `onChange(zones)` hears every finished edit. Returns `{ node, setImage(src),
 * setZones(zones), zones(), drawing() }`; zones are `[{ points: [{ x, y }] }]`.
 */
export function zoneEditor({ onChange = () => {}, testid = 'zone-editor' } = {}) {
  let zones = [];
  let draft = null; // corners of the zone being drawn
  let selected = -1;
  let drag = null; // { zone (index, or -1 for the draft), point, moved }

  const picture = h('img', { class: 'zone-picture', alt: '', testid: `${testid}-picture`, hidden: true });
  const noPicture = h('p', { class: 'zone-nopicture muted small', testid: `${testid}-nopicture` }, 'No picture yet: zones can still be drawn.');
  const layer = svg('svg', { class: 'zone-svg', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' });
  const surface = h(
    'div',
    {
      class: 'zone-surface', tabindex: 0, role: 'application', testid,
      'aria-label': 'Zone editor. Click to add corners; click the first corner or press Enter to close a zone; Escape cancels; Delete removes the selected zone.',
    },
    picture,
    noPicture,
  );
  surface.append(layer);
  const message = h('p', { class: 'field-error', role: 'alert', testid: `${testid}-error`, hidden: true });
  const hint = h('p', { class: 'hint', testid: `${testid}-hint` });
  const closeBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: `${testid}-close`, disabled: true }, 'Close zone');
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: `${testid}-cancel`, disabled: true }, 'Cancel');
  const deleteBtn = h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', testid: `${testid}-delete`, disabled: true }, icon('trash', 18), 'Delete zone');
  const list = h('ul', { class: 'zone-list', testid: `${testid}-list` });

  const say = (text) => {
    message.hidden = !text;
    message.textContent = text || '';
  };
  const changed = () => onChange(structuredClone(zones));

  const handleR = () => (GRAB_PX * 0.6 * W) / (surface.getBoundingClientRect().width || 360);

  const paint = () => {
    const r = handleR();
    const shapes = [];
    zones.forEach((z, i) => {
      const pts = z.points.map((p) => `${p.x * W},${p.y * H}`).join(' ');
      shapes.push(svg('polygon', { class: `zone-poly${i === selected ? ' is-selected' : ''}`, points: pts, 'data-zone': i, testid: 'zone-polygon' }));
      const c = centroid(z.points);
      const label = svg('text', { class: 'zone-label', x: c.x * W, y: c.y * H, 'text-anchor': 'middle', 'dominant-baseline': 'central' });
      label.textContent = String(i + 1);
      shapes.push(label);
      z.points.forEach((p, j) => shapes.push(svg('circle', { class: 'zone-handle', cx: p.x * W, cy: p.y * H, r, 'data-zone': i, 'data-point': j })));
    });
    if (draft) {
      const pts = draft.map((p) => `${p.x * W},${p.y * H}`).join(' ');
      shapes.push(svg('polyline', { class: 'zone-draft', points: pts, testid: 'zone-draft' }));
      draft.forEach((p, j) => shapes.push(svg('circle', { class: `zone-handle${j === 0 ? ' is-first' : ''}`, cx: p.x * W, cy: p.y * H, r: j === 0 ? r * 1.4 : r, 'data-zone': -1, 'data-point': j })));
    }
    layer.replaceChildren(...shapes);
    surface.dataset.zones = String(zones.length);
    surface.dataset.drawing = String(!!draft);
    closeBtn.disabled = !draft || draft.length < 3;
    cancelBtn.disabled = !draft;
    deleteBtn.disabled = selected < 0;
    hint.textContent = draft
      ? `Drawing zone ${zones.length + 1}: ${draft.length} corner${draft.length === 1 ? '' : 's'}. ${draft.length >= 3 ? 'Click the first corner or "Close zone" to finish.' : 'Add at least 3.'}`
      : zones.length
        ? `${zones.length} of ${MAX_ZONES} zones. Motion counts only inside them. Drag a corner to move it.`
        : 'No zones: motion anywhere in the picture counts. Click the picture to draw one.';
    list.replaceChildren(
      ...zones.map((z, i) => {
        const del = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'zone-list-delete', 'aria-label': `Delete zone ${i + 1}` }, icon('trash', 16));
        del.addEventListener('click', () => remove(i));
        return h('li', { class: `zone-item${i === selected ? ' is-selected' : ''}`, testid: 'zone-item' }, h('span', null, `Zone ${i + 1} · ${z.points.length} corners`), del);
      }),
    );
  };

  function centroid(points) {
    const n = points.length || 1;
    return { x: points.reduce((s, p) => s + p.x, 0) / n, y: points.reduce((s, p) => s + p.y, 0) / n };
  }

  const remove = (i) => {
    zones.splice(i, 1);
    selected = -1;
    say(null);
    paint();
    changed();
  };

  const closeDraft = () => {
    if (!draft) return;
    const problem = zoneProblem(draft);
    if (problem) {
      say(problem);
      return;
    }
    zones.push({ points: draft });
    draft = null;
    selected = zones.length - 1;
    say(null);
    paint();
    changed();
  };
  const cancelDraft = () => {
    draft = null;
    say(null);
    paint();
  };

  const at = (event) => {
    const r = surface.getBoundingClientRect();
    return { x: round(clamp01((event.clientX - r.left) / (r.width || 1))), y: round(clamp01((event.clientY - r.top) / (r.height || 1))) };
  };

  /** The corner within reach of the pointer: `{ zone, point }` (zone -1: the draft), or null. */
  const cornerAt = (event) => {
    const r = surface.getBoundingClientRect();
    const near = (p) => Math.hypot(p.x * r.width + r.left - event.clientX, p.y * r.height + r.top - event.clientY) <= GRAB_PX;
    if (draft) {
      const j = draft.findIndex(near);
      if (j >= 0) return { zone: -1, point: j };
    }
    for (let i = zones.length - 1; i >= 0; i--) {
      const j = zones[i].points.findIndex(near);
      if (j >= 0) return { zone: i, point: j };
    }
    return null;
  };

  surface.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    surface.focus({ preventScroll: true });
    const corner = cornerAt(event);
    if (corner && corner.zone === -1 && corner.point === 0 && draft.length >= 3) {
      closeDraft();
      return;
    }
    if (corner) {
      drag = { ...corner, moved: false };
      surface.setPointerCapture?.(event.pointerId);
      if (corner.zone >= 0) selected = corner.zone;
      paint();
      return;
    }
    const p = at(event);
    if (draft) {
      if (draft.length >= MAX_POINTS) {
        say(`A zone has at most ${MAX_POINTS} corners. Close this one.`);
        return;
      }
      draft.push(p);
      say(null);
      paint();
      return;
    }
    const hit = event.target instanceof SVGPolygonElement ? Number(event.target.dataset.zone) : -1;
    if (hit >= 0) {
      selected = hit;
      paint();
      return;
    }
    if (zones.length >= MAX_ZONES) {
      say(`A camera has at most ${MAX_ZONES} zones. Delete one to draw another.`);
      return;
    }
    selected = -1;
    draft = [p];
    say(null);
    paint();
  });
  surface.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const p = at(event);
    const pts = drag.zone === -1 ? draft : zones[drag.zone].points;
    pts[drag.point] = p;
    drag.moved = true;
    paint();
  });
  const endDrag = () => {
    if (!drag) return;
    const { zone, moved } = drag;
    drag = null;
    if (!moved || zone === -1) return;
    const problem = zoneProblem(zones[zone].points);
    say(problem);
    changed();
  };
  surface.addEventListener('pointerup', endDrag);
  surface.addEventListener('pointercancel', endDrag);
  surface.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && draft) closeDraft();
    else if (event.key === 'Escape' && draft) cancelDraft();
    else if ((event.key === 'Delete' || event.key === 'Backspace') && selected >= 0 && !draft) remove(selected);
    else return;
    event.preventDefault();
  });
  closeBtn.addEventListener('click', closeDraft);
  cancelBtn.addEventListener('click', cancelDraft);
  deleteBtn.addEventListener('click', () => selected >= 0 && remove(selected));
  new ResizeObserver(() => paint()).observe(surface);

  paint();
  return {
    node: h(
      'div',
      { class: 'zone-editor' },
      surface,
      message,
      hint,
      h('div', { class: 'btn-row' }, closeBtn, cancelBtn, deleteBtn),
      list,
    ),
    /** Shows `src` under the zones (null: a plain background). */
    setImage(src) {
      picture.hidden = !src;
      noPicture.hidden = !!src;
      if (src) picture.src = src;
      else picture.removeAttribute('src');
    },
    setZones(next) {
      zones = structuredClone(next || []);
      draft = null;
      selected = -1;
      say(null);
      paint();
    },
    zones: () => structuredClone(zones),
    /** Whether a zone is being drawn (not yet closed). */
    drawing: () => !!draft,
    /** Shows a server's complaint about the zones. */
    showError: (text) => say(text),
  };
}
