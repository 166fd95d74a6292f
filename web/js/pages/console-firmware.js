// pages/console-firmware.js — "#/console/firmware": firmware rollouts over the existing admin
// firmware API: the rollouts with their progress, pause and resume, and a new rollout of an
// uploaded image (images are uploaded with `kankan firmware sign` and the API).

import { h, field, alertBox, onSubmit, showError, busy } from '../ui.js';
import { staffRequest } from '../console-api.js';

export const title = 'Rollouts';

function rolloutRow(r, reload) {
  const phases = Object.entries(r.phases || {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none yet';
  const toggle = h('button', { type: 'button', class: 'btn', testid: r.paused ? 'console-rollout-resume' : 'console-rollout-pause' }, r.paused ? 'Resume' : 'Pause');
  toggle.addEventListener('click', () =>
    busy(toggle, async () => {
      await staffRequest('POST', `/api/v1/admin/firmware/rollouts/${r.id}/${r.paused ? 'resume' : 'pause'}`);
      reload();
    }),
  );
  return h(
    'li',
    { class: 'console-card', testid: 'console-rollout' },
    h('p', null, h('strong', null, `${r.image.model} ${r.image.version}`), ` · ${r.percent}% · ${r.paused ? 'paused' : 'running'}`),
    h('p', { class: 'muted small' }, `Offered to ${r.offered}: ${phases}`),
    r.failures.length ? h('p', { class: 'small' }, `Failed: ${r.failures.map((f) => `${f.uid} (${f.phase})`).join(', ')}`) : null,
    toggle,
  );
}

export function render() {
  const alert = alertBox('console-firmware-alert');
  const list = h('ul', { class: 'plain-list', testid: 'console-rollouts' });
  const images = h('select', { class: 'input', testid: 'console-rollout-image', required: true });
  const percent = field({ label: 'Percent of the model’s devices', type: 'number', min: 0, max: 100, value: 10, testid: 'console-rollout-percent' });
  const cohort = field({ label: 'Also these UIDs (comma-separated)', testid: 'console-rollout-cohort' });
  const load = () => {
    staffRequest('GET', '/api/v1/admin/firmware/rollouts')
      .then((rs) => list.replaceChildren(...(rs.length ? rs.map((r) => rolloutRow(r, load)) : [h('li', { class: 'muted' }, 'No rollouts yet.')])))
      .catch((err) => showError(alert, err));
    staffRequest('GET', '/api/v1/admin/firmware/images')
      .then((is) => images.replaceChildren(...is.map((i) => h('option', { value: i.id }, `${i.model} ${i.version}`))))
      .catch((err) => showError(alert, err));
  };
  const form = h(
    'form',
    { class: 'stack', testid: 'console-rollout-form' },
    h('div', { class: 'field' }, h('label', { class: 'label' }, 'Image'), images),
    percent.wrap,
    cohort.wrap,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'console-rollout-create' }, 'Start rollout'),
  );
  onSubmit(form, alert, async () => {
    const uids = cohort.input.value.split(',').map((s) => s.trim()).filter(Boolean);
    await staffRequest('POST', '/api/v1/admin/firmware/rollouts', {
      json: { image_id: images.value, percent: Number(percent.input.value) || 0, cohort: uids },
    });
    load();
  });
  load();
  return h('section', { class: 'console-section', testid: 'page-console-firmware' }, h('h1', null, 'Firmware rollouts'), alert, list, h('h2', null, 'New rollout'), form);
}
