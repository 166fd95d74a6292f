// pages/console-help.js — "#/console/help" (staff, `help-edit`): the help articles, drafts
// too; a new article; an article's editor with a live preview (markdown.js, as the users see
// it: text, never HTML), publish or unpublish (each save is a revision), its revisions, and
// deleting it. The console's shell wraps this page.

import { staffRequest } from '../console-api.js';
import { markdown } from '../markdown.js';
import { h, field, alertBox, showAlert, showError, onSubmit, formatDateTime, confirmDialog } from '../ui.js';

export const title = 'Help articles';

const ADMIN = '/api/v1/admin/help/articles';

function tagsOf(text) {
  return text.split(',').map((t) => t.trim()).filter(Boolean);
}

function editor(article, { onSaved, onDeleted, message }) {
  const alert = alertBox('console-help-alert');
  if (message) showAlert(alert, 'success', message);
  const isNew = !article;
  const a = article || { slug: '', title: '', category: '', tags: [], body: '', published: false };
  const slug = field({ label: 'Slug', testid: 'console-help-slug', value: a.slug, required: true, disabled: !isNew, hint: 'a-z, 0-9 and hyphens; the article\'s address' });
  const titleF = field({ label: 'Title', testid: 'console-help-title', value: a.title, required: true, maxlength: 120 });
  const category = field({ label: 'Category', testid: 'console-help-category', value: a.category, required: true, maxlength: 40 });
  const tags = field({ label: 'Tags', testid: 'console-help-tags', value: a.tags.join(', '), hint: 'Comma-separated' });
  const body = h('textarea', { class: 'input console-help-body', id: 'console-help-body', rows: 16, testid: 'console-help-body' });
  body.value = a.body;
  const published = h('input', { type: 'checkbox', class: 'switch-input', id: 'console-help-published', role: 'switch', testid: 'console-help-published' });
  published.checked = Boolean(a.published);
  const preview = h('div', { class: 'card', testid: 'console-help-preview' });
  const paintPreview = () => preview.replaceChildren(h('h2', { class: 'card-title' }, titleF.input.value), markdown(body.value));
  body.addEventListener('input', paintPreview);
  titleF.input.addEventListener('input', paintPreview);
  paintPreview();
  const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'console-help-save' }, isNew ? 'Create' : 'Save');
  const form = h(
    'form',
    { novalidate: true, testid: 'console-help-form' },
    slug.wrap,
    titleF.wrap,
    category.wrap,
    tags.wrap,
    h('div', { class: 'field' }, h('label', { class: 'label', for: 'console-help-body' }, 'Body (Markdown: #, ##, lists, **bold**, `code`)'), body),
    h('div', { class: 'field' }, h('label', { class: 'label', for: 'console-help-published' }, 'Published'), h('span', { class: 'switch' }, published, h('span', { class: 'switch-track', 'aria-hidden': 'true' }))),
    save,
  );
  onSubmit(form, alert, async () => {
    const content = { title: titleF.input.value, category: category.input.value, tags: tagsOf(tags.input.value), body: body.value, published: published.checked };
    const saved = isNew
      ? await staffRequest('POST', ADMIN, { json: { slug: slug.input.value.trim(), ...content } })
      : await staffRequest('PUT', `${ADMIN}/${encodeURIComponent(a.slug)}`, { json: content });
    onSaved(saved, `Saved as revision ${saved.revision}${saved.published ? ', published' : ', draft'}.`);
  });
  const del = isNew ? null : h('button', { type: 'button', class: 'btn btn-ghost', testid: 'console-help-delete' }, 'Delete article');
  del?.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: 'Delete this article?', text: 'It and its revisions are deleted.', confirmLabel: 'Delete', danger: true, testid: 'console-help-confirm' });
    if (!ok) return;
    try {
      await staffRequest('DELETE', `${ADMIN}/${encodeURIComponent(a.slug)}`);
      onDeleted();
    } catch (err) {
      showError(alert, err);
    }
  });
  return h('div', { class: 'console-help-editor' }, alert, h('div', { class: 'card' }, form, del), h('h3', null, 'Preview'), preview);
}

function revisionList(revisions) {
  return h(
    'div',
    { class: 'card', testid: 'console-help-revisions' },
    h('h2', { class: 'card-title' }, 'Revisions'),
    h(
      'ul',
      { class: 'plain-list' },
      revisions.map((r) =>
        h(
          'li',
          { class: 'row', testid: 'console-help-revision' },
          h(
            'div',
            { class: 'list-text' },
            h('span', { class: 'list-title' }, `Revision ${r.revision}: ${r.title}`),
            h('span', { class: 'list-sub' }, `${r.editor || 'starter set'} · ${formatDateTime(r.edited_at)} · ${r.published ? 'published' : 'draft'}`),
          ),
        ),
      ),
    ),
  );
}

export function render(ctx) {
  const alert = alertBox('console-help-list-alert');
  const list = h('ul', { class: 'plain-list', testid: 'console-help-list' });
  const detail = h('div', { testid: 'console-help-detail' });

  async function open(slug, message) {
    try {
      const d = await staffRequest('GET', `${ADMIN}/${encodeURIComponent(slug)}`);
      if (!ctx.isCurrent()) return;
      detail.replaceChildren(editor(d.article, { onSaved: (_, msg) => reload(slug, msg), onDeleted: () => reload(), message }), revisionList(d.revisions));
    } catch (err) {
      showError(alert, err);
    }
  }

  async function reload(openSlug, message) {
    try {
      const articles = await staffRequest('GET', ADMIN);
      if (!ctx.isCurrent()) return;
      list.replaceChildren(
        ...articles.map((a) => {
          const b = h(
            'button',
            { type: 'button', class: 'list-row btn-link', testid: `console-help-open-${a.slug}` },
            h(
              'span',
              { class: 'list-text' },
              h('span', { class: 'list-title' }, a.title),
              h('span', { class: 'list-sub' }, `${a.category} · ${a.published ? 'published' : 'draft'} · revision ${a.revision}${a.seeded ? ' (starter set)' : ''}`),
            ),
          );
          b.addEventListener('click', () => open(a.slug));
          return h('li', null, b);
        }),
      );
      if (openSlug) await open(openSlug, message);
      else detail.replaceChildren();
    } catch (err) {
      showError(alert, err);
    }
  }

  const newButton = h('button', { type: 'button', class: 'btn btn-primary', testid: 'console-help-new' }, 'New article');
  newButton.addEventListener('click', () => detail.replaceChildren(editor(null, { onSaved: (a, msg) => reload(a.slug, msg), onDeleted: () => reload() })));
  reload();
  return h(
    'section',
    { class: 'page', testid: 'page-console-help' },
    h('h1', { class: 'page-title' }, 'Help articles'),
    alert,
    h('div', { class: 'card' }, newButton, list),
    detail,
  );
}
