// pages/devices.js — "#/devices": the camera list (landing page after login). Device binding is
// not built yet, so this shows a friendly empty state; Live and Playback will open from here.

import { h, pageHeader, emptyState } from '../ui.js';

export const title = 'Devices';

export function render() {
  return h(
    'section',
    { class: 'page', testid: 'page-devices' },
    pageHeader('Devices'),
    emptyState({
      iconName: 'camera',
      title: 'No cameras yet',
      text: 'Device binding arrives soon. You will add a camera here by scanning its QR code, then watch it live or play back recordings.',
      testid: 'devices-empty',
    }),
  );
}
