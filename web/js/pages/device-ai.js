// pages/device-ai.js — the "AI descriptions" switch of a camera's Settings card
// (device-settings.js). It can be turned on only where this server has an AI model configured
// (About: `ai_descriptions`, `ai_endpoint_host`), by the camera's owner, once the owner
// consented to "ai-descriptions" (Me → Privacy; never a child's account). Otherwise it is
// disabled (hidden when the server has none) and says why; a switch left on can always be
// turned off.

import { privacy } from '../api.js';
import { h } from '../ui.js';

/**
 * `toggle` is the card's switch maker; `owner` whether the account owns the camera. Returns
 * the card's field: `{ wrap, input, get, set }`.
 */
export function aiField(toggle, { owner }) {
  const t = toggle('ai-descriptions', 'AI descriptions', 'One sentence describing each event, written by an AI model');
  const why = h('p', { class: 'hint', testid: 'set-ai-descriptions-why' }, 'Checking…');
  const wrap = h('div', { testid: 'set-ai-descriptions-row' }, t.wrap, why);
  let allowed = false;
  t.input.disabled = true;
  const apply = () => (t.input.disabled = !(allowed || t.input.checked));
  const explain = (text, link) => {
    why.replaceChildren(text, link ? ' ' : '', link || '');
  };
  Promise.all([privacy.about(), owner ? privacy.consents() : Promise.resolve(null)])
    .then(([about, consents]) => {
      if (!about.ai_descriptions) {
        wrap.hidden = !t.input.checked;
        explain('This server has no AI model configured.');
      } else if (!owner) {
        explain('Only the camera\'s owner can turn AI descriptions on or off.');
      } else {
        const c = (consents.purposes || []).find((p) => p.purpose === 'ai-descriptions');
        if (c && c.granted) {
          allowed = true;
          explain(`Each event's pictures are sent to ${about.ai_endpoint_host}; only the sentence is kept, encrypted.`);
        } else if (c && !c.available) {
          explain('AI descriptions are not available to this account.');
        } else {
          explain('First give your consent to AI descriptions under', h('a', { href: '#/me/privacy', testid: 'set-ai-descriptions-consent' }, 'Me → Privacy'));
        }
      }
      apply();
    })
    .catch(() => explain('Could not check whether AI descriptions are available.'));
  return {
    wrap,
    input: t.input,
    get: t.get,
    set: (v) => {
      t.set(v);
      apply();
    },
  };
}
