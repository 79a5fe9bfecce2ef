/**
 * The dashboard: sign-in, the state of one project, and the live feed that keeps every view current without a
 * reload. Views render from the state (views.js, graph.js); this module fetches, and refetches what an event
 * touched, with the event's position as `minPosition` so the read model has applied it before it answers.
 */
import { allPages, api, ApiError, holds, token } from './api.js';
import { show } from './dom.js';
import { Feed } from './feed.js';
import {
  renderAgents,
  renderBoard,
  renderBoardToolbar,
  renderDetail,
  renderGraphFrame,
  renderHealth,
  renderNext,
  renderProjects,
  renderReady,
  renderTree,
} from './views.js';

const $ = (id) => document.getElementById(id);
const VIEWS = ['projects', 'board', 'tree', 'graph', 'ready', 'next', 'health', 'agents'];
const PROJECT_LIST_EVENTS = ['ProjectCreated', 'TaskCreated', 'TaskDeleted'];
/** Tasks the graph draws at most before it leaves the finished ones out. */
const GRAPH_MAX = 1500;

const state = {
  me: undefined,
  can: { create: false, modify: false },
  projects: [],
  projectId: undefined,
  view: 'board',
  filter: '',
  tasks: [],
  tasksById: new Map(),
  /** The role the Next view recommends for; undefined: any role. */
  role: undefined,
  selected: undefined,
  /** The highest log position any event brought: reads wait for the read model to pass it. */
  position: 0,
  subscription: 0,
  rendered: false,
};
let feed;

// ─── Errors ──────────────────────────────────────────────────────────────────────────────────────

let errorTimer;
const report = (error) => {
  if (error instanceof ApiError && error.status === 401) return signOut(`The token was refused (${error.code}).`);
  const banner = $('error');
  banner.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error?.message ?? error);
  banner.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => (banner.hidden = true), 8000);
};

// ─── Sign-in ─────────────────────────────────────────────────────────────────────────────────────

const signIn = async (candidate) => {
  const me = await api('GET', '/plugins/me', { bearer: candidate });
  token.set(candidate);
  state.me = me;
  state.can = { create: holds(me.capabilities, 'task_creation'), modify: holds(me.capabilities, 'task_modification') };
  $('whoami').textContent = `${me.actor}${state.can.create || state.can.modify ? '' : ' · read-only'}`;
  document.body.dataset.access = state.can.create || state.can.modify ? 'write' : 'read';
  $('signin').hidden = true;
  $('app').hidden = false;
  feed = new Feed({
    token: candidate,
    onEvent,
    onStatus: (status) => {
      $('live').textContent = status;
      $('live').className = `live state-${status}`;
    },
    onRefused: (reason) => signOut(`The live feed refused the token${reason ? ` (${reason})` : ''}.`),
  });
  feed.subscribe('projects', { types: PROJECT_LIST_EVENTS });
  await loadProjects();
  applyLocation();
};

const signOut = (message) => {
  feed?.close();
  feed = undefined;
  token.clear();
  state.me = undefined;
  state.projectId = undefined;
  $('app').hidden = true;
  $('signin').hidden = false;
  const error = $('signin-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  $('token').focus();
};

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token');
  const candidate = input.value.trim();
  input.value = '';
  signIn(candidate).catch((error) => {
    token.clear();
    const shown = $('signin-error');
    shown.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
    shown.hidden = false;
  });
});
$('signout').addEventListener('click', () => signOut());

// ─── Where we are: #view=board&project=web&task=… ────────────────────────────────────────────────

const go = (changes) => {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) params.delete(key);
    else params.set(key, value);
  }
  location.hash = params.toString();
};

const applyLocation = () => {
  if (!state.me) return;
  const params = new URLSearchParams(location.hash.slice(1));
  const view = VIEWS.includes(params.get('view')) ? params.get('view') : 'board';
  const projectId = params.get('project') ?? state.projectId ?? state.projects[0]?.id ?? 'default';
  const selected = params.get('task') ?? undefined;
  if (projectId !== state.projectId) switchProject(projectId);
  state.view = view;
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  for (const button of document.querySelectorAll('#views button')) button.classList.toggle('current', button.dataset.view === view);
  if (view === 'board') renderBoardToolbar($('board-toolbar'), state, { onCreate: createTask, onFilter });
  refresh.request('view');
  if (selected !== state.selected) {
    state.selected = selected;
    refresh.request('detail');
  }
};
window.addEventListener('hashchange', applyLocation);
for (const button of document.querySelectorAll('#views button')) button.addEventListener('click', () => go({ view: button.dataset.view }));
$('project-select').addEventListener('change', (event) => go({ project: event.target.value, task: undefined }));

const openTask = (id) => go({ task: id });

// ─── The project and its feed subscriptions ──────────────────────────────────────────────────────

const switchProject = (projectId) => {
  feed.unsubscribe(`p${state.subscription}`);
  state.projectId = projectId;
  state.tasks = [];
  state.tasksById = new Map();
  state.subscription += 1;
  // Everything of the project from now on: each event reloads the view on screen (a dependency redraws the graph).
  feed.subscribe(`p${state.subscription}`, { projectId });
  renderProjectSelect();
};

const onEvent = (message, sub) => {
  state.position = Math.max(state.position, message.position);
  if (sub === 'projects') return refresh.request('projects');
  if (sub !== `p${state.subscription}`) return;
  refresh.request('view');
  const { taskId, dependsOn } = message.data ?? {};
  if (state.selected && (taskId === state.selected || dependsOn === state.selected)) refresh.request('detail');
};

// ─── Loading and rendering ───────────────────────────────────────────────────────────────────────

const loadProjects = async () => {
  state.projects = await allPages('/projects', { minPosition: state.position || undefined });
  renderProjectSelect();
};

const renderProjectSelect = () => {
  const select = $('project-select');
  const ids = state.projects.map((p) => p.id);
  if (state.projectId && !ids.includes(state.projectId)) ids.unshift(state.projectId);
  show(
    select,
    ids.map((id) => {
      const option = document.createElement('option');
      option.value = id;
      option.textContent = state.projects.find((p) => p.id === id)?.name ?? id;
      option.selected = id === state.projectId;
      return option;
    }),
  );
};

const at = () => (state.position > 0 ? state.position : undefined);
const projectPath = () => `/projects/${encodeURIComponent(state.projectId)}`;

/** What the board, the agents and the graph show of a task (the task panel reads the whole task). */
const TASK_FIELDS = 'title,status,priority,ready,estimate,role,claimedBy,leaseExpiresAt,statusNote,files,parentId,createdAt,version';

const loadTasks = async () => {
  state.tasks = await allPages('/tasks', { projectId: state.projectId, fields: TASK_FIELDS, minPosition: at() });
  state.tasksById = new Map(state.tasks.map((t) => [t.id, t]));
};

const onFilter = (value) => {
  state.filter = value;
  renderBoard($('board'), state, { onOpen: openTask });
};

const loaders = {
  projects: async () => {
    const [summary] = await Promise.all([
      api('GET', '/tasks/dashboard', { query: { projectId: state.projectId, minPosition: at() } }),
      loadProjects(),
    ]);
    renderProjects($('view-projects'), { ...state, summary }, { onPick: (id) => go({ project: id, view: 'board', task: undefined }) });
  },
  board: async () => {
    await loadTasks();
    renderBoard($('board'), state, { onOpen: openTask });
  },
  tree: async () => {
    const tree = await api('GET', `/projects/${encodeURIComponent(state.projectId)}/tree`, { query: { depth: 10, minPosition: at() } });
    renderTree($('view-tree'), { tree }, { onOpen: openTask });
  },
  graph: async () => {
    const root = $('view-graph');
    // One request: every task with its slack, every dependency, the critical path (docs/graph.md).
    const picture = await api('GET', `${projectPath()}/graph`, { query: { format: 'json' }, minPosition: at() }).catch((error) => {
      if (error instanceof ApiError && (error.code === 'PROJECT_NOT_FOUND' || error.code === 'GRAPH_TOO_LARGE')) return error;
      throw error;
    });
    if (picture instanceof ApiError) return show(root, picture.code === 'GRAPH_TOO_LARGE' ? picture.message : 'This project has no tasks yet.');
    if (picture.nodes.length === 0) return show(root, 'This project has no tasks yet.');
    // Past GRAPH_MAX tasks the layout would take long: the finished ones are left out (the schedule ignores them).
    const nodes =
      picture.nodes.length > GRAPH_MAX ? picture.nodes.filter((t) => t.status !== 'completed' && t.status !== 'cancelled') : picture.nodes;
    const note = nodes === picture.nodes ? undefined : `${picture.nodes.length - nodes.length} completed or cancelled tasks are not drawn.`;
    const canvas = renderGraphFrame(root, { picture, note }, { onOpen: openTask });
    const { drawGraph } = await import('./graph.js');
    drawGraph(canvas, { nodes, edges: picture.edges, criticalPath: picture.criticalPath, onSelect: openTask });
  },
  ready: async () => {
    const roles = (await api('GET', '/roles')).items.map((r) => r.name);
    const queue = (role) =>
      api('GET', '/tasks/ready', { query: { projectId: state.projectId, role, limit: 20, minPosition: at() } }).then((page) => ({
        role: role ?? 'any role',
        items: page.items,
      }));
    const queues = await Promise.all([queue(undefined), ...roles.map(queue)]);
    renderReady($('view-ready'), { queues }, { onOpen: openTask });
  },
  next: async () => {
    const [roles, next] = await Promise.all([
      api('GET', '/roles'),
      api('GET', `${projectPath()}/recommendations`, { query: { role: state.role, limit: 20 }, minPosition: at() }),
    ]);
    const onRole = (role) => {
      state.role = role || undefined;
      refresh.request('view');
    };
    renderNext($('view-next'), { roles: roles.items.map((r) => r.name), role: state.role, next }, { onOpen: openTask, onRole });
  },
  health: async () => {
    const health = await api('GET', `${projectPath()}/health`, { minPosition: at() });
    renderHealth($('view-health'), { health }, { onOpen: openTask });
  },
  agents: async () => {
    const [marks] = await Promise.all([api('GET', `/projects/${encodeURIComponent(state.projectId)}/file-marks`), loadTasks()]);
    renderAgents($('view-agents'), { tasks: state.tasks, marks: marks.items }, { onOpen: openTask });
  },
};

const loadDetail = async () => {
  const id = state.selected;
  const handlers = { onStatus: changeStatus, onClose: () => go({ task: undefined }), onOpen: openTask };
  if (!id) return renderDetail($('detail'), {}, handlers);
  const path = `/tasks/${encodeURIComponent(id)}`;
  try {
    const [task, history, dependencies] = await Promise.all([
      api('GET', path, { query: { minPosition: at() } }),
      api('GET', `${path}/history`, { query: { limit: 200, minPosition: at() } }),
      api('GET', `${path}/dependencies`, { query: { minPosition: at() } }),
    ]);
    if (state.selected !== id) return;
    renderDetail($('detail'), { task, history: history.items, dependencies: dependencies.items, can: state.can }, handlers);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'TASK_NOT_FOUND') return go({ task: undefined });
    throw error;
  }
};

/**
 * Refreshes run one at a time; requests that arrive meanwhile (a burst of events) are merged into the next run, a
 * short moment later, so a thousand events cost a few reloads, not a thousand.
 */
const refresh = (() => {
  const wanted = new Set();
  let running = false;
  let timer;
  const run = async () => {
    timer = undefined;
    if (running || !state.me) return;
    running = true;
    const now = [...wanted];
    wanted.clear();
    try {
      await Promise.all(
        now.map((what) => {
          if (what === 'detail') return loadDetail();
          if (what === 'projects') return state.view === 'projects' ? loaders.projects() : loadProjects();
          return loaders[state.view]();
        }),
      );
      if (!state.rendered && now.includes('view')) {
        state.rendered = true;
        performance.mark('vespera:first-render');
      }
      document.body.dataset.rendered = state.view;
    } catch (error) {
      report(error);
    } finally {
      running = false;
      if (wanted.size > 0) timer ??= setTimeout(run, 100);
    }
  };
  return {
    request: (what) => {
      wanted.add(what);
      if (!running) timer ??= setTimeout(run, state.rendered ? 100 : 0);
    },
  };
})();

// Leases run out and claims go quiet with no event to say so: the health view also reloads twice a minute.
const HEALTH_EVERY_MS = 30_000;
setInterval(() => {
  if (state.me && state.view === 'health') refresh.request('view');
}, HEALTH_EVERY_MS);

// ─── Writes (tokens with task_creation / task_modification only) ──────────────────────────────────

const createTask = async (input) => {
  try {
    await api('POST', '/tasks', { body: { ...input, projectId: state.projectId } });
  } catch (error) {
    report(error);
    throw error;
  }
};

const changeStatus = async (task, status) => {
  try {
    await api('POST', `/tasks/${encodeURIComponent(task.id)}/status`, { body: { status, expectedVersion: task.version } });
  } catch (error) {
    report(error);
    refresh.request('detail');
  }
};

// ─── Start ───────────────────────────────────────────────────────────────────────────────────────

const saved = token.get();
if (saved) {
  signIn(saved).catch((error) => signOut(error instanceof ApiError ? `Signed out: ${error.code}.` : String(error)));
} else {
  signOut();
}
