// pages/album.js — "#/album": the screenshots and clips saved from live view, newest first, kept
// on the server (so every signed-in device shows the same album). Screenshots show as pictures,
// clips play in place; each can be downloaded or deleted (after a confirmation). An empty state
// explains how items get here.

import { album } from '../api.js';
import { icon } from '../icons.js';
import { h, pageHeader, emptyState, alertBox, showError, hideAlert, confirmDialog, busy, toast, formatDateTime } from '../ui.js';

export const title = 'Album';

/** "3.4 MB" / "86 KB" for a size in bytes. */
function bytesText(n) {
  const b = Number(n) || 0;
  if (b >= 1024 * 1024) return `${(b / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(b / 1024))} KB`;
}

/** "0:30" for a duration in ms. */
function durationText(ms) {
  const s = Math.round((Number(ms) || 0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function itemName(item) {
  return item.device_name || item.device;
}

function media(item) {
  if (item.kind === 'clip') {
    return h('video', {
      class: 'album-media', src: item.content_url, controls: true, preload: 'metadata', playsinline: true,
      muted: true, testid: 'album-video', 'aria-label': `Clip from ${itemName(item)}`,
    });
  }
  return h('img', {
    class: 'album-media', src: item.content_url, loading: 'lazy', testid: 'album-image',
    alt: `Screenshot from ${itemName(item)}, ${formatDateTime(new Date(item.taken_at_ms).toISOString())}`,
  });
}

export function render(ctx) {
  const alert = alertBox('album-alert');
  const grid = h('div', { class: 'album-grid', testid: 'album-grid', 'aria-busy': 'true' });
  const empty = emptyState({
    iconName: 'image',
    title: 'Your album is empty',
    text: 'Take a screenshot or save a clip while you watch a camera live. It is kept here, on your own server, for every device you sign in on.',
    testid: 'album-empty',
    action: h('a', { class: 'btn btn-primary', href: '#/devices', testid: 'album-empty-devices' }, icon('camera', 20), 'Go to your cameras'),
  });
  empty.hidden = true;

  const showEmpty = () => {
    const none = !grid.children.length;
    grid.hidden = none;
    empty.hidden = !none;
  };

  const card = (item) => {
    const when = new Date(item.taken_at_ms).toISOString();
    const remove = h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'album-delete' }, icon('trash', 18), 'Delete');
    const node = h(
      'figure',
      { class: 'card album-item', testid: 'album-item', dataset: { id: item.id, kind: item.kind } },
      h('div', { class: 'album-frame' }, media(item), item.kind === 'clip' ? h('span', { class: 'album-badge' }, icon('play', 14), durationText(item.duration_ms)) : null),
      h(
        'figcaption',
        { class: 'album-caption' },
        h('span', { class: 'album-name', testid: 'album-item-name' }, itemName(item)),
        h('span', { class: 'muted small' }, h('time', { datetime: when }, formatDateTime(when)), ` · ${bytesText(item.bytes)}`),
      ),
      h(
        'div',
        { class: 'btn-row album-actions' },
        h('a', { class: 'btn btn-secondary btn-small', href: item.content_url, download: '', testid: 'album-download' }, icon('download', 18), 'Download'),
        remove,
      ),
    );
    remove.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: item.kind === 'clip' ? 'Delete this clip?' : 'Delete this screenshot?',
        text: 'It is removed from your album on every device. This cannot be undone.',
        confirmLabel: 'Delete',
        danger: true,
        testid: 'confirm',
      });
      if (!ok || !ctx.isCurrent()) return;
      await busy(remove, async () => {
        try {
          await album.remove(item.id);
          node.remove();
          showEmpty();
          toast('Deleted from your album.', 'success');
        } catch (err) {
          if (err.status === 404) {
            node.remove();
            showEmpty();
          } else if (err.status !== 401) showError(alert, err);
        }
      });
    });
    return node;
  };

  album
    .list()
    .then((items) => {
      if (!ctx.isCurrent()) return;
      hideAlert(alert);
      grid.replaceChildren(...items.map(card));
      grid.removeAttribute('aria-busy');
      showEmpty();
    })
    .catch((err) => {
      if (!ctx.isCurrent() || err.status === 401) return;
      grid.removeAttribute('aria-busy');
      showError(alert, err);
    });

  return h('section', { class: 'page', testid: 'page-album' }, pageHeader('Album'), alert, grid, empty);
}
