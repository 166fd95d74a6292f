// pages/faces.js — "#/faces": familiar faces. The gallery (the faces the user named, family or
// friends) and "Seen in the last two days" (the unnamed faces, strangers, with links to the
// clips they were seen in). A face can be named (with its relation) or deleted; unnamed faces
// go by themselves two days after they were last seen. Without the face-recognition consent
// nothing is processed: the page says so and links to Me → Privacy, where it is given.

import { faces } from '../api.js';
import { icon } from '../icons.js';
import { h, pageHeader, emptyState, alertBox, showError, hideAlert, confirmDialog, busy, toast, formatDateTime } from '../ui.js';

export const title = 'Faces';

const RELATIONS = [
  ['', 'No relation'],
  ['family', 'Family'],
  ['friend', 'Friend'],
];

/** The link to a sighting's clip: the camera's playback at the moment it was seen. */
function clipLink(s) {
  const when = new Date(s.seen_at_ms).toISOString();
  return h(
    'a',
    { class: 'btn btn-ghost btn-small', href: `#/devices/${encodeURIComponent(s.device)}/playback?at=${s.seen_at_ms}`, testid: 'face-clip' },
    icon('play', 16),
    formatDateTime(when),
  );
}

export function render(ctx) {
  const alert = alertBox('faces-alert');
  const off = h('p', { class: 'muted', testid: 'faces-off', hidden: true },
    'Face recognition is off: nothing is processed. Turn it on in ',
    h('a', { href: '#/me/privacy' }, 'Me → Privacy'),
    ', then turn on "Familiar faces" in a camera\'s settings.');
  const gallery = h('div', { class: 'album-grid', testid: 'faces-gallery' });
  const strangers = h('div', { class: 'album-grid', testid: 'faces-strangers' });
  const galleryEmpty = emptyState({ iconName: 'user', title: 'No named faces', text: 'Name a face seen in the last two days to keep it here.', testid: 'faces-gallery-empty' });
  const strangersEmpty = emptyState({ iconName: 'user', title: 'Nobody seen', text: 'Faces your cameras see show here for two days.', testid: 'faces-strangers-empty' });

  const reload = () =>
    faces
      .list()
      .then((l) => {
        if (!ctx.isCurrent()) return;
        hideAlert(alert);
        off.hidden = l.enabled;
        gallery.replaceChildren(...l.gallery.map(card));
        strangers.replaceChildren(...l.strangers.map(card));
        galleryEmpty.hidden = l.gallery.length > 0;
        strangersEmpty.hidden = l.strangers.length > 0;
      })
      .catch((err) => {
        if (ctx.isCurrent() && err.status !== 401) showError(alert, err);
      });

  function card(f) {
    const name = h('input', { class: 'input', type: 'text', maxlength: 40, value: f.name || '', placeholder: 'Name', 'aria-label': 'Name', testid: 'face-name' });
    const relation = h('select', { class: 'input', 'aria-label': 'Relation', testid: 'face-relation' },
      ...RELATIONS.map(([v, label]) => h('option', { value: v, selected: (f.relation || '') === v }, label)));
    const save = h('button', { type: 'button', class: 'btn btn-primary btn-small', testid: 'face-save' }, f.name ? 'Rename' : 'Name');
    const remove = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'face-delete' }, icon('trash', 18), 'Delete');
    const node = h(
      'figure',
      { class: 'card album-item', testid: 'face-item', dataset: { id: f.id } },
      h('div', { class: 'album-frame' }, h('img', { class: 'album-media', src: faces.pictureUrl(f.id), loading: 'lazy', alt: f.name ? `The face of ${f.name}` : 'An unnamed face' })),
      h('figcaption', { class: 'album-caption' },
        h('span', { class: 'album-name', testid: 'face-title' }, f.name ? `${f.name}${f.relation ? ` (${f.relation})` : ''}` : 'Stranger'),
        h('span', { class: 'muted small' }, `Last seen ${formatDateTime(new Date(f.last_seen_ms).toISOString())}`)),
      h('div', { class: 'btn-row' }, ...f.sightings.slice(0, 5).map(clipLink)),
      h('div', { class: 'btn-row album-actions' }, name, relation, save, remove),
    );
    save.addEventListener('click', () =>
      busy(save, async () => {
        try {
          await faces.name(f.id, name.value.trim() || null, relation.value || null);
          toast(name.value.trim() ? 'Named.' : 'Name removed.', 'success');
          await reload();
        } catch (err) {
          if (err.status !== 401) showError(alert, err);
        }
      }),
    );
    remove.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Delete this face?',
        text: 'Its template, name and pictures are deleted at once. If this person is seen again, they are a stranger.',
        confirmLabel: 'Delete',
        danger: true,
        testid: 'confirm',
      });
      if (!ok || !ctx.isCurrent()) return;
      await busy(remove, async () => {
        try {
          await faces.remove(f.id);
          toast('Deleted.', 'success');
          await reload();
        } catch (err) {
          if (err.status === 404) await reload();
          else if (err.status !== 401) showError(alert, err);
        }
      });
    });
    return node;
  }

  reload();
  return h(
    'section',
    { class: 'page', testid: 'page-faces' },
    pageHeader('Faces', { back: '#/me' }),
    alert,
    off,
    h('h2', { class: 'section-title' }, 'Family and friends'),
    gallery,
    galleryEmpty,
    h('h2', { class: 'section-title' }, 'Seen in the last two days'),
    strangers,
    strangersEmpty,
  );
}
