// pages/login.js — "#/login": sign in with e-mail or phone and password; handles banned,
// unverified, locked and rate-limited accounts, offers "Continue login" to an account in its
// cancellation window, and shows notices carried from other pages.

import { auth, account } from '../api.js';
import { setMe, signup, nextRoute } from '../state.js';
import { passkeyLoginButton } from '../passkeys.js';
import { showSecondStep } from './login-second-factor.js';
import {
  h, field, passwordField, alertBox, showAlert, showError, onSubmit, flash,
  normalizeIdentifier, authLayout, busy, formatDateTime,
} from '../ui.js';

export const title = 'Log in';

export function render(ctx) {
  const notice = alertBox('login-notice');
  const alert = alertBox('login-alert');
  const carried = flash.take();
  if (carried) showAlert(notice, carried.kind || 'info', carried.message);

  const identifier = field({
    label: 'E-mail or phone number',
    testid: 'login-identifier',
    name: 'identifier',
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'you@example.com or +14155550123',
    required: true,
  });
  identifier.input.value = ctx.query.get('identifier') || signup.get()?.identifier || '';

  const password = passwordField({
    label: 'Password',
    testid: 'login-password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
  });

  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'login-form' },
    notice,
    alert,
    identifier.wrap,
    password.wrap,
    h('div', { class: 'form-row-end' }, h('a', { class: 'link', href: '#/reset', testid: 'login-forgot' }, 'Forgot password?')),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'login-submit' }, 'Log in'),
  );

  onSubmit(form, alert, async () => {
    const id = normalizeIdentifier(identifier.input.value);
    const pw = password.input.value;
    if (!id || !pw) {
      showAlert(alert, 'error', 'Enter your e-mail or phone number and your password.');
      (id ? password.input : identifier.input).focus();
      return;
    }
    notice.hidden = true;
    try {
      const res = await auth.login(id, pw);
      signup.clear();
      if (res.ticket) {
        // A second factor is needed (202): the second step replaces the form.
        showSecondStep(form, res, (done) => signedIn(done, { alert, ctx }));
        return;
      }
      signedIn(res, { alert, ctx });
    } catch (err) {
      explain(err, { alert, id, pw, ctx });
    }
  });

  // Sign in with a passkey alone: the same session as a password login.
  const passkey = passkeyLoginButton(alert, (res) => {
    signup.clear();
    if (res.cancellation) {
      offerContinue(res, { alert, ctx });
      return;
    }
    setMe(res.account);
    ctx.navigate(nextRoute.afterLogin());
  });

  return authLayout(
    { title: 'Welcome back', subtitle: 'Log in to see your cameras.', testid: 'page-login' },
    form,
    h('div', { class: 'form' }, passkey),
    h(
      'p',
      { class: 'auth-switch' },
      'New to Kankan? ',
      h('a', { class: 'link', href: '#/register', testid: 'login-register-link' }, 'Create an account'),
    ),
    h('p', { class: 'auth-switch' }, h('a', { class: 'link', href: '#/help', testid: 'login-help-link' }, 'Help center')),
    h('p', { class: 'auth-switch' }, h('a', { class: 'link', href: '#/deletion-receipt', testid: 'login-receipt-link' }, 'Deletion receipt')),
  );
}

/** A session is open: the app (or "Continue login", or the enrolment the operator requires). */
function signedIn(res, { alert, ctx }) {
  if (res.cancellation) {
    offerContinue(res, { alert, ctx });
    return;
  }
  setMe(res.account);
  if (res.second_factor_enrolment_required) {
    flash.set('warn', 'This service requires two-step verification. Set it up to go on.');
    ctx.navigate('#/me/account');
    return;
  }
  ctx.navigate(nextRoute.afterLogin());
}

/** The account is in its cancellation window: "Continue login" ends the cancellation and
 * opens the app; "Log out" leaves the cancellation running. */
function offerContinue(res, { alert, ctx }) {
  const when = formatDateTime(new Date(res.cancellation.ends_at_ms).toISOString());
  const go = h('button', { type: 'button', class: 'btn btn-primary btn-small', testid: 'login-continue' }, 'Continue login');
  const leave = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'login-keep-cancelling' }, 'Log out');
  go.addEventListener('click', () =>
    busy(go, async () => {
      try {
        await account.continueLogin();
        setMe(res.account);
        ctx.navigate(nextRoute.afterLogin());
      } catch (err) {
        showError(alert, err);
      }
    }),
  );
  leave.addEventListener('click', () =>
    busy(leave, async () => {
      await auth.logout().catch(() => {});
      showAlert(alert, 'info', `Your account stays cancelled and will be deleted on ${when}.`);
    }),
  );
  showAlert(alert, 'warn', `This account is being cancelled: it will be deleted on ${when}. Choose "Continue login" to stop the cancellation and keep it.`, {
    title: 'Your account is being cancelled',
    actions: [go, leave],
  });
}

function explain(err, { alert, id, pw, ctx }) {
  switch (err.code) {
    case 'account-banned':
      showAlert(alert, 'ban', err.message, { title: 'This account has been suspended' });
      return;
    case 'account-not-verified':
      signup.set({ identifier: id, password: pw, resendAt: 0 });
      showAlert(alert, 'warn', err.message, {
        title: 'Please verify your account',
        actions: [
          h(
            'button',
            { type: 'button', class: 'btn btn-secondary btn-small', testid: 'login-go-verify', onclick: () => ctx.navigate('#/verify') },
            'Enter verification code',
          ),
        ],
      });
      return;
    case 'account-locked':
    case 'too-many-requests':
      // The message already says how long to wait.
      showAlert(alert, 'warn', err.message, {
        title: err.code === 'account-locked' ? 'Account temporarily locked' : 'Please wait a moment',
      });
      return;
    default:
      showError(alert, err);
  }
}
