// pages/album.js — "#/album": snapshots and clips saved from cameras. Not built yet, so this
// shows a friendly empty state.

import { h, pageHeader, emptyState } from '../ui.js';

export const title = 'Album';

export function render() {
  return h(
    'section',
    { class: 'page', testid: 'page-album' },
    pageHeader('Album'),
    emptyState({
      iconName: 'image',
      title: 'Your album is empty',
      text: 'Snapshots and clips you save from your cameras will land here, stored on your own server.',
      testid: 'album-empty',
    }),
  );
}
