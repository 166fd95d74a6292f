// pages/share-members.js — the Share page's lower cards (pages/share.js). Members: each with
// what they may do beyond watching live and getting alarms (switches for the capabilities an
// owner may grant), an optional time box (until a date, and/or a weekly schedule in a time
// zone, edited with schedule-editor.js), Save, and Remove (their open live view ends at once).
// History: who was invited, joined, changed, removed or left. Access log: who watched live,
// played back, downloaded or talked, and when (30 days).

import { sharing } from '../api.js';
import { icon } from '../icons.js';
import { h, alertBox, showError, hideAlert, busy, toast, confirmDialog, formatDateTime, formatDate } from '../ui.js';
import { scheduleEditor } from '../schedule-editor.js';
import { timeZoneSelect, localTimeZone } from '../time-zones.js';
import { GRANTABLE, MEMBER_DEFAULT } from '../sharing-ui.js';

const iso = (ms) => new Date(ms).toISOString();

/** "2026-12-31" (local) of the last moment before `untilMs`. */
function dateValue(untilMs) {
  const d = new Date(untilMs - 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The end (next local midnight) of the day "2026-12-31", in ms; null when empty. */
function untilOf(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return null;
  return new Date(+m[1], +m[2] - 1, +m[3] + 1).getTime();
}

let seq = 0;

/** One member: switches, time box, Save and Remove. */
function memberRow(uid, m, { alert, onSaved, onRemoved }) {
  const n = ++seq;
  let dirty = false;
  const save = h('button', { type: 'button', class: 'btn btn-primary btn-small', disabled: true, testid: 'member-save' }, 'Save');
  const markDirty = () => {
    dirty = true;
    save.disabled = false;
  };
  const caps = GRANTABLE.map(([cap, label, hint]) => {
    const id = `member-${n}-${cap}`;
    const input = h('input', { type: 'checkbox', class: 'switch-input', id, role: 'switch', checked: (m.capabilities || []).includes(cap), testid: `member-cap-${cap}`, dataset: { cap } });
    input.addEventListener('change', markDirty);
    return {
      cap,
      input,
      node: h(
        'div',
        { class: 'set-row' },
        h('label', { class: 'set-text', for: id }, h('span', { class: 'set-label' }, label), h('span', { class: 'set-hint' }, hint)),
        h('span', { class: 'switch' }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
      ),
    };
  });
  const untilId = `member-${n}-until`;
  const until = h('input', { class: 'input', type: 'date', id: untilId, testid: 'member-until', value: m.until_ms ? dateValue(m.until_ms) : '' });
  until.addEventListener('change', markDirty);
  const schedule = scheduleEditor({
    onChange: markDirty,
    testid: 'member-schedule',
    id: `member-${n}-schedule`,
    text: {
      label: 'Only at certain times',
      off: 'Off: at any time',
      hint: 'Outside these periods they cannot watch and get no alarms. "00:00" as the end means midnight.',
    },
  });
  schedule.set(m.schedule ? { periods: m.schedule.periods || [] } : null);
  const tzId = `member-${n}-tz`;
  const tz = timeZoneSelect({ id: tzId, testid: 'member-tz' });
  tz.set(m.schedule?.time_zone || localTimeZone());
  tz.input.addEventListener('change', markDirty);

  const remove = h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', testid: 'member-remove' }, icon('trash', 18), 'Remove');
  const who = m.nickname || 'This member';
  const node = h(
    'li',
    { class: 'member', testid: 'member-item', dataset: { account: m.account } },
    h(
      'div',
      { class: 'member-head' },
      h('span', { class: 'member-avatar', 'aria-hidden': 'true' }, icon('user', 20)),
      h(
        'div',
        { class: 'row-main' },
        h('p', { class: 'row-title', testid: 'member-name' }, who),
        h('p', { class: 'row-sub' }, `Member since ${formatDate(iso(m.joined_at_ms))} · watches live, gets alarms`),
      ),
    ),
    h('details', { class: 'member-more' },
      h('summary', { testid: 'member-edit' }, 'What they may do'),
      h('div', { class: 'member-caps' }, caps.map((c) => c.node)),
      h('div', { class: 'field' }, h('label', { class: 'label', for: untilId }, 'Until (optional)'), until, h('p', { class: 'hint' }, 'Access ends at the end of this day.')),
      schedule.node,
      h('div', { class: 'field' }, h('label', { class: 'label', for: tzId }, 'Time zone of the schedule'), tz.input),
      h('div', { class: 'btn-row' }, save, remove),
    ),
  );

  save.addEventListener('click', () => {
    if (!schedule.check()) return;
    const sched = schedule.get();
    const value = {
      capabilities: [...MEMBER_DEFAULT, ...caps.filter((c) => c.input.checked).map((c) => c.cap)],
      until_ms: untilOf(until.value),
      schedule: sched ? { periods: sched.periods, time_zone: tz.get() } : null,
    };
    busy(save, async () => {
      try {
        await sharing.putMember(uid, m.account, value);
        hideAlert(alert);
        dirty = false;
        toast(`Saved what ${who} may do`, 'success');
        onSaved();
      } catch (err) {
        if (err.status === 401) return;
        if (/schedule/.test(err.code || '')) schedule.showError(err.message);
        else showError(alert, err);
      }
    }).then(() => (save.disabled = !dirty));
  });
  remove.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Remove ${who}?`,
      text: 'They lose this camera at once: an open live view stops, and its alarms leave their Message Center.',
      confirmLabel: 'Remove',
      danger: true,
      testid: 'confirm',
    });
    if (!ok) return;
    busy(remove, async () => {
      try {
        await sharing.removeMember(uid, m.account);
        toast(`${who} removed`, 'success');
      } catch (err) {
        if (err.status === 401) return;
        if (err.status !== 404) {
          showError(alert, err);
          return;
        }
      }
      onRemoved();
    });
  });
  return { node, isDirty: () => dirty };
}

/** The Members card. `onChanged()` hears saves and removals. Returns `{ node, reload }`. */
export function membersCard(uid, ctx, { onChanged }) {
  const alert = alertBox('members-alert');
  const list = h('ul', { class: 'rows members', testid: 'members-list' });
  const none = h('p', { class: 'muted small', testid: 'members-none', hidden: true }, 'Nobody else has this camera yet. Invite someone above.');
  // Rows are kept while what they show is unchanged, and while their owner edits them.
  const rows = new Map();
  const reload = async () => {
    let all;
    try {
      all = await sharing.members(uid);
    } catch (err) {
      if (err.status !== 401 && ctx.isCurrent()) showError(alert, err);
      return;
    }
    if (!ctx.isCurrent()) return;
    const next = new Map();
    for (const m of all) {
      const key = JSON.stringify(m);
      const old = rows.get(m.account);
      const keep = old && (old.key === key || old.row.isDirty());
      if (keep) {
        next.set(m.account, old);
        continue;
      }
      const row = memberRow(uid, m, { alert, onSaved: changed, onRemoved: changed });
      // A member's panel the owner had open stays open.
      const wasOpen = old && old.row.node.querySelector('details')?.open;
      if (wasOpen) row.node.querySelector('details').open = true;
      next.set(m.account, { key, row });
    }
    rows.clear();
    for (const [k, v] of next) rows.set(k, v);
    list.replaceChildren(...[...rows.values()].map((r) => r.row.node));
    none.hidden = all.length > 0;
  };
  const changed = () => {
    for (const r of rows.values()) r.key = null;
    reload();
    onChanged();
  };
  reload();
  return {
    node: h('div', { class: 'card', testid: 'members-card' }, h('h2', { class: 'card-title' }, 'Members'), alert, none, list),
    reload,
  };
}

const ACTIONS = { invited: 'Invitation made', joined: 'joined', changed: 'access changed', removed: 'removed', left: 'left' };

/** The membership history, newest first. Returns `{ node, reload }`. */
export function historyCard(uid) {
  const alert = alertBox('share-history-alert');
  const list = h('ul', { class: 'rows', testid: 'share-history' });
  const none = h('p', { class: 'muted small', testid: 'share-history-none', hidden: true }, 'Nothing yet.');
  const reload = async () => {
    try {
      const all = await sharing.history(uid);
      all.sort((a, b) => b.at_ms - a.at_ms);
      list.replaceChildren(
        ...all.map((e) => {
          const what = e.member ? `${e.member} ${ACTIONS[e.action] || e.action}` : ACTIONS[e.action] || e.action;
          return h(
            'li',
            { class: 'row', testid: 'share-history-item', dataset: { action: e.action } },
            h('div', { class: 'row-main' }, h('p', { class: 'row-title' }, what[0].toUpperCase() + what.slice(1)), h('p', { class: 'row-sub' }, formatDateTime(iso(e.at_ms)))),
          );
        }),
      );
      none.hidden = all.length > 0;
      hideAlert(alert);
    } catch (err) {
      if (err.status !== 401) showError(alert, err);
    }
  };
  reload();
  return { node: h('div', { class: 'card', testid: 'share-history-card' }, h('h2', { class: 'card-title' }, 'History'), alert, none, list), reload };
}

const KINDS = { live: 'watched live', playback: 'played back recordings', download: 'downloaded footage', talk: 'talked through the camera' };

/** Who watched, played back, downloaded or talked, and when (the last 30 days). Returns `{ node, reload }`. */
export function accessCard(uid) {
  const alert = alertBox('share-access-alert');
  const list = h('ul', { class: 'rows', testid: 'share-access' });
  const none = h('p', { class: 'muted small', testid: 'share-access-none', hidden: true }, 'Nobody has watched or played back in the last 30 days.');
  const reload = () => sharing
    .accessLog(uid)
    .then((all) => {
      list.replaceChildren(
        ...all.map((e) =>
          h(
            'li',
            { class: 'row', testid: 'share-access-item', dataset: { kind: e.kind } },
            h('div', { class: 'row-main' }, h('p', { class: 'row-title' }, `${e.nickname || 'Someone'} ${KINDS[e.kind] || e.kind}`), h('p', { class: 'row-sub' }, formatDateTime(iso(e.at_ms)))),
          ),
        ),
      );
      none.hidden = all.length > 0;
      hideAlert(alert);
    })
    .catch((err) => {
      if (err.status !== 401) showError(alert, err);
    });
  reload();
  const node = h(
    'div',
    { class: 'card', testid: 'share-access-card' },
    h('h2', { class: 'card-title' }, 'Access log'),
    h('p', { class: 'muted small card-lead' }, 'Who watched live or played back, and when, over the last 30 days.'),
    alert,
    none,
    list,
  );
  return { node, reload };
}
