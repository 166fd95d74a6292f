// markdown.js — renders the operator's Markdown (the privacy policy, the disclaimer, contact
// details) as DOM nodes, never as HTML: headings (#, ##, ###), paragraphs, "-" and "1." lists,
// **bold** and `code`. Every piece of text goes in as a text node, so nothing in the document
// can add markup, scripts or links.

import { h } from './ui.js';

/** `**bold**` and `code` spans of one line, as nodes. */
function inline(text) {
  const out = [];
  const re = /\*\*([^*]+)\*\*|`([^`]+)`/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[1] != null ? h('strong', null, m[1]) : h('code', null, m[2]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A `<div class="markdown">` with the document's blocks. */
export function markdown(text, attrs = {}) {
  const root = h('div', { class: 'markdown', ...attrs });
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) root.append(h('p', null, inline(para.join(' '))));
    para = [];
  };
  for (const raw of String(text || '').split('\n')) {
    const line = raw.trim();
    const heading = line.match(/^(#{1,3})\s+(.*)$/);
    const bullet = line.match(/^[-*]\s+(.*)$/);
    const numbered = line.match(/^\d+[.)]\s+(.*)$/);
    if (!line) {
      flush();
      list = null;
    } else if (heading) {
      flush();
      list = null;
      root.append(h(`h${heading[1].length + 1}`, { class: 'markdown-heading' }, inline(heading[2])));
    } else if (bullet || numbered) {
      flush();
      const tag = bullet ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = h(tag, null);
        root.append(list);
      }
      list.append(h('li', null, inline((bullet || numbered)[1])));
    } else if (list && raw.startsWith('  ')) {
      list.lastElementChild.append(' ', ...inline(line));
    } else {
      list = null;
      para.push(line);
    }
  }
  flush();
  return root;
}
