// pages/console-staff.js — "#/console/staff": the staff members with their roles and second
// factor; create one (they enrol a second factor at their first sign-in), change a role,
// disable (their sessions end).

import { h, field, passwordField, alertBox, onSubmit, showError, busy } from '../ui.js';
import { staffRequest } from '../console-api.js';

export const title = 'Staff';

const ROLES = ['support', 'operations', 'admin'];

function roleSelect(value, testid) {
  return h('select', { class: 'input', testid }, ROLES.map((r) => h('option', { value: r, selected: r === value }, r)));
}

export function render() {
  const alert = alertBox('console-staff-alert');
  const list = h('ul', { class: 'console-list', testid: 'console-staff' });
  const load = () =>
    staffRequest('GET', '/api/v1/admin/staff')
      .then((res) =>
        list.replaceChildren(
          ...res.staff.map((m) => {
            const role = roleSelect(m.role, 'console-staff-role');
            role.addEventListener('change', () =>
              staffRequest('POST', `/api/v1/admin/staff/${m.id}/role`, { json: { role: role.value } }).then(load).catch((err) => showError(alert, err)),
            );
            const disable = h('button', { type: 'button', class: 'btn btn-danger', testid: 'console-staff-disable', disabled: m.disabled }, m.disabled ? 'Disabled' : 'Disable');
            disable.addEventListener('click', () =>
              busy(disable, () => staffRequest('POST', `/api/v1/admin/staff/${m.id}/disable`).then(load).catch((err) => showError(alert, err))),
            );
            return h('li', { testid: 'console-staff-member' }, h('strong', null, m.username), ` · ${m.second_factor ? 'second factor set' : 'enrols at first sign-in'} `, role, ' ', disable);
          }),
        ),
      )
      .catch((err) => showError(alert, err));
  const user = field({ label: 'User name', testid: 'console-staff-username', required: true });
  const pass = passwordField({ label: 'Their password', testid: 'console-staff-password', autocomplete: 'new-password', required: true });
  const role = roleSelect('support', 'console-staff-new-role');
  const form = h(
    'form',
    { class: 'stack', testid: 'console-staff-form' },
    user.wrap,
    pass.wrap,
    h('div', { class: 'field' }, h('label', { class: 'label' }, 'Role'), role),
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'console-staff-create' }, 'Create'),
  );
  onSubmit(form, alert, async () => {
    await staffRequest('POST', '/api/v1/admin/staff', { json: { username: user.input.value, password: pass.input.value, role: role.value } });
    form.reset();
    load();
  });
  load();
  return h('section', { class: 'console-section', testid: 'page-console-staff' }, h('h1', null, 'Staff'), alert, list, h('h2', null, 'New staff member'), form);
}
