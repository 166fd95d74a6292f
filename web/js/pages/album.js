// pages/album.js — "#/album": the screenshots and clips saved from live view, newest first, kept
// on the server (so every signed-in device shows the same album). Screenshots show as pictures,
// clips play in place; each can be shared to other apps (the browser's share sheet,
// navigator.share with the file, where navigator.canShare says it can take it; a download
// otherwise), downloaded or deleted (after a confirmation). An empty state explains how items
// get here.

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

/** "kankan-front-door-2026-12-06-2105.mp4": a file name for an item. */
function fileName(item, type) {
  const d = new Date(item.taken_at_ms);
  const p = (n) => String(n).padStart(2, '0');
  const when = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  const who = String(itemName(item)).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'camera';
  const ext = item.kind === 'clip' ? 'mp4' : /png/.test(type || '') ? 'png' : 'jpg';
  return `kankan-${who}-${when}.${ext}`;
}

/** Saves `url` as `name` through a download link. */
function download(url, name) {
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

/**
 * Shares `item` to another app with the browser's share sheet where it can take the file, else
 * downloads it. Resolves to 'shared', 'cancelled' or 'downloaded'.
 */
async function shareItem(item) {
  if (typeof navigator.share === 'function' && typeof navigator.canShare === 'function') {
    const res = await fetch(item.content_url, { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) throw new Error(res.status === 404 ? 'It is no longer in your album.' : 'It could not be loaded. Please try again.');
    const blob = await res.blob();
    const file = new File([blob], fileName(item, blob.type), { type: blob.type || (item.kind === 'clip' ? 'video/mp4' : 'image/jpeg') });
    if (navigator.canShare({ files: [file] })) {
      try {
        await navigator.share({ files: [file], title: `${item.kind === 'clip' ? 'Clip' : 'Screenshot'} from ${itemName(item)}` });
        return 'shared';
      } catch (err) {
        if (err && err.name === 'AbortError') return 'cancelled';
        console.warn('share:', err);
      }
    }
  }
  download(item.content_url, fileName(item));
  return 'downloaded';
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
    const share = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'album-share' }, icon('upload', 18), 'Share');
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
        share,
        h('a', { class: 'btn btn-secondary btn-small', href: item.content_url, download: fileName(item), testid: 'album-download' }, icon('download', 18), 'Download'),
        remove,
      ),
    );
    share.addEventListener('click', () =>
      busy(share, async () => {
        try {
          const outcome = await shareItem(item);
          node.dataset.shared = outcome;
          if (outcome === 'downloaded') toast('This browser cannot share files: downloaded instead.');
        } catch (err) {
          showError(alert, err);
        }
      }),
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
