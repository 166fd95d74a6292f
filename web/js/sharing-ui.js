// sharing-ui.js — what the device pages need to know about shared cameras: whether the
// signed-in account owns a device or is a member, which capabilities it holds (the API's
// names), the "Shared by" badge, and the labels of the capabilities an owner may grant.

import { h } from './ui.js';
import { icon } from './icons.js';

/** Every member holds these: see the camera, watch it live, receive its alarms. */
export const MEMBER_DEFAULT = ['view', 'view-live', 'receive-alarms'];

/** What an owner may add for a member, with the words the Share page shows. */
export const GRANTABLE = [
  ['play-back', 'Play back recordings', 'The timeline and recorded footage'],
  ['download', 'Download', 'Export video, save clips and screenshots'],
  ['talk', 'Talk', 'Speak through the camera'],
  ['move-ptz', 'Pan and tilt', 'Move the camera and go to presets'],
  ['change-settings', 'Change settings', 'Settings, motion zones and schedule, the name, reboot'],
];

/** Whether the signed-in account is a member (not the owner) of device `d`. */
export function isMember(d) {
  return d && d.role === 'member';
}

/**
 * Whether the signed-in account may do `capability` with device `d`. An owner may do
 * everything; a device listed without capabilities is the account's own.
 */
export function can(d, capability) {
  if (!d || !isMember(d) || !Array.isArray(d.capabilities)) return true;
  return d.capabilities.includes(capability);
}

/** The "Shared by <nickname>" badge of a device shared with the account (else null). */
export function sharedBadge(d, testid) {
  if (!isMember(d)) return null;
  const who = d.shared_by ? `Shared by ${d.shared_by}` : 'Shared with you';
  return h('span', { class: 'badge badge-accent shared-badge', testid, dataset: { shared: 'true' } }, icon('user', 14), who);
}
