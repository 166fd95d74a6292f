// pages/messages.js — "#/messages": motion alerts and system notices. Nothing produces messages
// yet, so this shows a friendly empty state.

import { h, pageHeader, emptyState } from '../ui.js';

export const title = 'Messages';

export function render() {
  return h(
    'section',
    { class: 'page', testid: 'page-messages' },
    pageHeader('Messages'),
    emptyState({
      iconName: 'bell',
      title: 'All quiet',
      text: 'Motion alerts and camera notices will show up here once you have added a camera.',
      testid: 'messages-empty',
    }),
  );
}
