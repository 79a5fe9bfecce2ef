/**
 * The dashboard's views, each a function of the state `main.js` keeps: it replaces the contents of its root
 * element and calls back for anything the person does. None of them fetches; none writes HTML strings.
 */
import { h, hours, relative, show } from './dom.js';

export const STATUSES = ['pending', 'in_progress', 'blocked', 'review', 'completed', 'cancelled'];
const LABELS = {
  pending: 'Pending',
  in_progress: 'In progress',
  blocked: 'Blocked',
  review: 'Review',
  completed: 'Completed',
  cancelled: 'Cancelled',
};
const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const PRIORITY_RANK = Object.fromEntries(PRIORITIES.map((p, i) => [p, i]));

const badge = (text, kind) => h('span', { class: `badge ${kind}`, text });
const taskLink = (task, onOpen) =>
  h('button', { type: 'button', class: 'link', dataset: { task: task.id }, onclick: () => onOpen(task.id), text: task.title ?? task.id });

// ─── Projects ────────────────────────────────────────────────────────────────────────────────────

export const renderProjects = (root, { projects, projectId, summary }, { onPick }) => {
  const cards = projects.map((p) =>
    h(
      'button',
      { type: 'button', class: `project${p.id === projectId ? ' current' : ''}`, dataset: { project: p.id }, onclick: () => onPick(p.id) },
      h('strong', { text: p.name }),
      h('span', { class: 'muted', text: `${p.id} · ${p.taskCount} tasks` }),
      p.description ? h('span', { class: 'description', text: p.description }) : null,
    ),
  );
  show(
    root,
    h('h2', { text: 'Projects' }),
    h('div', { class: 'projects' }, cards.length ? cards : h('p', { class: 'muted', text: 'No project yet.' })),
    summary ? renderSummary(summary) : null,
  );
};

const renderSummary = (s) =>
  h(
    'section',
    { class: 'summary' },
    h('h3', { text: `Project ${s.projectId}` }),
    h(
      'dl',
      {},
      ...[
        ['Tasks', s.total],
        ['Ready', s.ready],
        ['Dependency-blocked', s.dependencyBlocked],
        ['Completion', `${Math.round((s.completion ?? 0) * 100)} %`],
        ['Critical path', hours(s.criticalPathHours)],
        ['Dependencies', s.dependencies],
      ].flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v ?? '–' })]),
    ),
  );

// ─── Board ───────────────────────────────────────────────────────────────────────────────────────

const card = (task, onOpen) =>
  h(
    'article',
    { class: `card priority-${task.priority}`, dataset: { task: task.id, status: task.status } },
    taskLink(task, onOpen),
    h(
      'div',
      { class: 'meta' },
      badge(task.priority, `priority-${task.priority}`),
      task.ready && task.status === 'pending' ? badge('ready', 'ready') : null,
      task.estimate !== null && task.estimate !== undefined ? h('span', { class: 'muted', text: hours(task.estimate) }) : null,
      task.role ? h('span', { class: 'muted', text: task.role }) : null,
    ),
    task.claimedBy ? h('div', { class: 'claim', text: `${task.claimedBy} · lease ${relative(task.leaseExpiresAt)}` }) : null,
    task.statusNote ? h('div', { class: 'note', text: task.statusNote.note }) : null,
  );

const byPriority = (a, b) => (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9) || (a.createdAt < b.createdAt ? -1 : 1);

/** The board's columns; the toolbar above them (`renderBoardToolbar`) stays put, so a live update never eats what is typed. */
export const renderBoard = (root, { tasks, filter }, { onOpen }) => {
  const words = filter.trim().toLowerCase();
  const shown = words ? tasks.filter((t) => t.title.toLowerCase().includes(words)) : tasks;
  const columns = STATUSES.map((status) => {
    const inColumn = shown.filter((t) => t.status === status).sort(byPriority);
    return h(
      'section',
      { class: 'column', dataset: { status } },
      h('h3', {}, LABELS[status], h('span', { class: 'count', text: String(inColumn.length) })),
      h(
        'div',
        { class: 'cards' },
        inColumn.map((t) => card(t, onOpen)),
      ),
    );
  });
  show(root, columns);
};

export const renderBoardToolbar = (root, { can, filter }, { onCreate, onFilter }) => {
  show(
    root,
    h('input', {
      type: 'search',
      placeholder: 'Filter by title',
      value: filter,
      'aria-label': 'Filter by title',
      oninput: (e) => onFilter(e.target.value),
    }),
    can.create ? createForm(onCreate) : h('span', { class: 'badge readonly', text: 'read-only' }),
  );
};

const createForm = (onCreate) => {
  const title = h('input', { name: 'title', required: true, maxlength: 200, placeholder: 'New task title', 'aria-label': 'New task title' });
  const priority = h(
    'select',
    { name: 'priority', 'aria-label': 'Priority' },
    PRIORITIES.map((p) => h('option', { value: p, selected: p === 'normal', text: p })),
  );
  const estimate = h('input', { name: 'estimate', type: 'number', min: 0, step: 0.5, placeholder: 'hours', 'aria-label': 'Estimate in hours' });
  return h(
    'form',
    {
      class: 'create',
      dataset: { write: 'create' },
      onsubmit: (event) => {
        event.preventDefault();
        const input = { title: title.value.trim(), priority: priority.value };
        if (estimate.value !== '') input.estimate = Number(estimate.value);
        if (input.title)
          onCreate(input).then(
            () => (title.value = ''),
            () => {},
          );
      },
    },
    title,
    priority,
    estimate,
    h('button', { type: 'submit', text: 'Create' }),
  );
};

// ─── Tree ────────────────────────────────────────────────────────────────────────────────────────

const treeNode = (node, onOpen) =>
  h(
    'li',
    { dataset: { task: node.id } },
    h('span', { class: `dot status-${node.status}`, title: node.status }),
    taskLink(node, onOpen),
    node.ready && node.status === 'pending' ? badge('ready', 'ready') : null,
    node.hiddenChildren ? h('span', { class: 'muted', text: ` +${node.hiddenChildren} deeper` }) : null,
    node.children.length
      ? h(
          'ul',
          {},
          node.children.map((c) => treeNode(c, onOpen)),
        )
      : null,
  );

export const renderTree = (root, { tree }, { onOpen }) => {
  show(
    root,
    h('h2', { text: 'Task tree' }),
    tree.roots.length
      ? h(
          'ul',
          { class: 'tree' },
          tree.roots.map((n) => treeNode(n, onOpen)),
        )
      : h('p', { class: 'muted', text: 'No tasks.' }),
    tree.truncated ? h('p', { class: 'muted', text: `Cut at depth ${tree.maxDepth}.` }) : null,
  );
};

// ─── Graph (the canvas itself is graph.js) ───────────────────────────────────────────────────────

const OPEN = (t) => t.status !== 'completed' && t.status !== 'cancelled';

/**
 * The graph view: the canvas (kept across refreshes, so graph.js can update it in place) and beside it the critical
 * path and the open tasks with least slack, all from the graph route's answer (`picture`). Returns the canvas.
 */
export const renderGraphFrame = (root, { picture, note }, { onOpen }) => {
  let canvas = root.querySelector('#graph-canvas');
  let side = root.querySelector('.graph-side');
  if (!canvas || !side) {
    canvas = h('div', { id: 'graph-canvas', class: 'graph-canvas' });
    side = h('aside', { class: 'graph-side' });
    show(root, h('div', { class: 'graph-layout' }, canvas, side));
  }
  const byId = new Map(picture.nodes.map((n) => [n.id, n]));
  const chain = picture.criticalPath;
  const least = picture.nodes
    .filter(OPEN)
    .sort((a, b) => a.slack - b.slack || Number(b.critical) - Number(a.critical))
    .slice(0, 30);
  const unestimated = picture.nodes.filter((n) => n.critical && n.estimate === null).length;
  show(
    side,
    h('h3', { text: `Critical path · ${chain.length} ${chain.length === 1 ? 'task' : 'tasks'}` }),
    h(
      'ol',
      { class: 'critical-path' },
      chain.map((id) => h('li', { dataset: { task: id } }, taskLink(byId.get(id) ?? { id }, onOpen))),
    ),
    chain.length ? null : h('p', { class: 'muted', text: 'No open work on a critical path.' }),
    unestimated ? h('p', { class: 'muted', text: `${unestimated} critical tasks have no estimate (see Health).` }) : null,
    note ? h('p', { class: 'muted', text: note }) : null,
    h('h3', { text: 'Least slack' }),
    h(
      'table',
      { class: 'slack' },
      h('thead', {}, h('tr', {}, h('th', { text: 'Task' }), h('th', { text: 'Slack' }), h('th', { text: 'Estimate' }))),
      h(
        'tbody',
        {},
        least.map((t) =>
          h(
            'tr',
            { class: t.critical ? 'critical' : '', dataset: { task: t.id } },
            h('td', {}, taskLink(t, onOpen)),
            h('td', { text: hours(t.slack) }),
            h('td', { text: hours(t.estimate) }),
          ),
        ),
      ),
    ),
  );
  return canvas;
};

// ─── Next: recommendations per role ──────────────────────────────────────────────────────────────

const ACTIONS = { start: 'Start', unblock: 'Unblock', estimate: 'Estimate' };

export const renderNext = (root, { roles, role, next }, { onOpen, onRole }) => {
  const picker = h(
    'select',
    { id: 'next-role', 'aria-label': 'Role', onchange: (e) => onRole(e.target.value) },
    h('option', { value: '', selected: role === undefined, text: 'any role' }),
    roles.map((r) => h('option', { value: r, selected: r === role, text: r })),
  );
  show(
    root,
    h('h2', { text: 'What to do next' }),
    h('label', { class: 'toolbar' }, 'For ', picker),
    next.items.length
      ? h(
          'ol',
          { class: 'recommendations' },
          next.items.map((item) =>
            h(
              'li',
              { dataset: { task: item.taskId, action: item.action } },
              badge(ACTIONS[item.action] ?? item.action, `action-${item.action}`),
              ' ',
              taskLink({ id: item.taskId, title: item.title }, onOpen),
              ' ',
              badge(item.priority, `priority-${item.priority}`),
              item.role ? h('span', { class: 'muted', text: ` ${item.role}` }) : null,
              h('p', { class: 'reason', text: item.reason }),
            ),
          ),
        )
      : h('p', { class: 'muted', text: 'Nothing to recommend.' }),
  );
};

// ─── Health ──────────────────────────────────────────────────────────────────────────────────────

/** The five findings of `GET /projects/:id/health` (docs/graph.md#project-health): a title and one line per item. */
const FINDINGS = [
  ['expiredLeases', 'Expired leases', (i) => `${i.agent} · lease ran out ${relative(i.leaseExpiresAt)}`],
  ['staleClaims', 'Stale claims', (i) => `${i.agent} · nothing heard for ${Math.round(i.idleMinutes)} min`],
  ['blockedChains', 'Blocked chains', (i) => `${i.status} · ${hours(i.blockedHours)} · waits on ${i.waitingOn.length} · ${i.chainLength} behind it`],
  ['criticalWithoutEstimate', 'Critical without estimate', (i) => `the plan assumes ${hours(i.assumedHours)}`],
  ['slackUsed', 'Slack used (24 h)', (i) => `${hours(i.slackBefore)} → ${hours(i.slackNow)}`],
];

export const renderHealth = (root, { health }, { onOpen }) => {
  show(
    root,
    h('h2', { text: 'Project health' }),
    h(
      'div',
      { class: 'findings' },
      FINDINGS.map(([key, title, line]) => {
        const { count, items } = health[key];
        return h(
          'section',
          { class: `finding${count ? ' found' : ''}`, dataset: { finding: key, count: String(count) } },
          h('h3', {}, title, h('span', { class: 'count', text: String(count) })),
          items.length
            ? h(
                'ul',
                {},
                items.map((item) =>
                  h(
                    'li',
                    { dataset: { task: item.taskId } },
                    taskLink({ id: item.taskId, title: item.title }, onOpen),
                    h('span', { class: 'muted', text: ` ${line(item)}` }),
                  ),
                ),
              )
            : h('p', { class: 'muted', text: 'None.' }),
          count > items.length ? h('p', { class: 'muted', text: `and ${count - items.length} more` }) : null,
        );
      }),
    ),
  );
};

// ─── Ready queue per role ────────────────────────────────────────────────────────────────────────

export const renderReady = (root, { queues }, { onOpen }) => {
  show(
    root,
    h('h2', { text: 'Ready queue per role' }),
    h(
      'div',
      { class: 'queues' },
      queues.map(({ role, items }) =>
        h(
          'section',
          { class: 'queue', dataset: { role } },
          h('h3', {}, role, h('span', { class: 'count', text: String(items.length) })),
          items.length
            ? h(
                'ol',
                {},
                items.map((t) => h('li', {}, taskLink(t, onOpen), ' ', badge(t.priority, `priority-${t.priority}`))),
              )
            : h('p', { class: 'muted', text: 'Nothing ready.' }),
        ),
      ),
    ),
  );
};

// ─── Agents ──────────────────────────────────────────────────────────────────────────────────────

export const renderAgents = (root, { tasks, marks }, { onOpen }) => {
  const agents = new Map();
  const agent = (name) => agents.get(name) ?? agents.set(name, { claims: [], marks: [] }).get(name);
  for (const task of tasks) if (task.claimedBy) agent(task.claimedBy).claims.push(task);
  for (const mark of marks) if (mark.taskId === null) agent(mark.holder).marks.push(mark);
  const rows = [...agents].sort(([a], [b]) => a.localeCompare(b));
  show(
    root,
    h('h2', { text: 'Agents' }),
    rows.length === 0 ? h('p', { class: 'muted', text: 'No agent holds a claim or a file mark.' }) : null,
    h(
      'div',
      { class: 'agents' },
      rows.map(([name, { claims, marks: own }]) =>
        h(
          'section',
          { class: 'agent', dataset: { agent: name } },
          h('h3', { text: name }),
          claims.map((t) =>
            h(
              'div',
              { class: 'claimed' },
              taskLink(t, onOpen),
              h('span', { class: 'muted', text: ` ${t.status} · lease ${relative(t.leaseExpiresAt)}` }),
              t.statusNote ? h('div', { class: 'note', text: `“${t.statusNote.note}” · ${relative(t.statusNote.at)}` }) : null,
              t.files?.length
                ? h(
                    'ul',
                    { class: 'files' },
                    t.files.map((f) => h('li', { text: f })),
                  )
                : null,
            ),
          ),
          own.length
            ? h(
                'div',
                { class: 'marks' },
                h('h4', { text: 'File marks' }),
                h(
                  'ul',
                  { class: 'files' },
                  own.flatMap((m) => m.files.map((f) => h('li', { text: `${f}${m.until ? ` · until ${relative(m.until)}` : ' · with its lease'}` }))),
                ),
              )
            : null,
        ),
      ),
    ),
  );
};

// ─── A task and its audit timeline ───────────────────────────────────────────────────────────────

const summarise = (changes) =>
  Object.entries(changes ?? {})
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');

export const renderDetail = (root, { task, history, dependencies, can }, { onStatus, onClose, onOpen }) => {
  if (!task) {
    root.hidden = true;
    delete root.dataset.task;
    root.replaceChildren();
    return;
  }
  root.hidden = false;
  root.dataset.task = task.id;
  const status = can.modify
    ? h(
        'select',
        { dataset: { write: 'status' }, 'aria-label': 'Status', onchange: (e) => onStatus(task, e.target.value) },
        STATUSES.map((s) => h('option', { value: s, selected: s === task.status, text: LABELS[s] })),
      )
    : h('span', { class: `badge status-${task.status}`, text: LABELS[task.status] });
  show(
    root,
    h('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: onClose, text: '×' }),
    h('h2', { text: task.title }),
    h('p', { class: 'muted', text: task.id }),
    h(
      'dl',
      {},
      h('dt', { text: 'Status' }),
      h('dd', {}, status),
      h('dt', { text: 'Priority' }),
      h('dd', { text: task.priority }),
      h('dt', { text: 'Estimate' }),
      h('dd', { text: hours(task.estimate) }),
      h('dt', { text: 'Role' }),
      h('dd', { text: task.role ?? '–' }),
      h('dt', { text: 'Claimed by' }),
      h('dd', { text: task.claimedBy ? `${task.claimedBy} (lease ${relative(task.leaseExpiresAt)})` : '–' }),
      task.statusNote ? [h('dt', { text: 'Note' }), h('dd', { text: task.statusNote.note })] : null,
      task.files?.length ? [h('dt', { text: 'Files' }), h('dd', { text: task.files.join(', ') })] : null,
    ),
    task.description ? h('p', { class: 'description', text: task.description }) : null,
    h('h3', { text: 'Depends on' }),
    dependencies.length
      ? h(
          'ul',
          {},
          dependencies.map((d) => h('li', {}, taskLink(d, onOpen), ` · ${d.status ?? ''}${d.kind === 'soft' ? ' · soft' : ''}`)),
        )
      : h('p', { class: 'muted', text: 'Nothing.' }),
    h('h3', { text: 'Audit timeline' }),
    h(
      'ol',
      { class: 'timeline' },
      history.map((e) =>
        h(
          'li',
          { dataset: { type: e.type, position: e.position } },
          h('strong', { text: e.type }),
          h('span', { class: 'muted', text: ` ${new Date(e.at).toLocaleString()} · ${e.actor}${e.role ? ` as ${e.role}` : ''} via ${e.tool}` }),
          Object.keys(e.changes ?? {}).length ? h('div', { class: 'changes', text: summarise(e.changes) }) : null,
        ),
      ),
    ),
  );
};
