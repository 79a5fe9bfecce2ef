/**
 * The dependency graph: cytoscape with the dagre layout (both served from this origin, /vendor/), prerequisites to
 * the left of what waits for them. Critical tasks (zero slack by CPM) and the edges of the critical chains are drawn
 * red; every open task shows its slack under its title. All of it is the graph route's answer
 * (`GET /projects/:id/graph`, docs/graph.md): an edge `{from, to}` says `from` waits on `to`, so it is drawn from
 * `to` to `from`.
 */
import cytoscape from '/vendor/cytoscape.esm.min.mjs';
import dagre from '/vendor/cytoscape-dagre.min.mjs';

cytoscape.use(dagre);

const STATUS_COLOURS = {
  pending: '#e8eef7',
  in_progress: '#fff4d6',
  blocked: '#fde2e1',
  review: '#efe3fb',
  completed: '#e2f5e6',
  cancelled: '#eeeeee',
};

const STYLE = [
  {
    selector: 'node',
    style: {
      shape: 'round-rectangle',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-max-width': '150px',
      'text-valign': 'center',
      'font-size': '11px',
      'font-family': 'system-ui, sans-serif',
      color: '#1d2733',
      width: '170px',
      height: '46px',
      'background-color': 'data(colour)',
      'border-width': '1px',
      'border-color': '#8996a6',
    },
  },
  { selector: 'node.critical', style: { 'border-width': '3px', 'border-color': '#d1242f', color: '#8b0d15', 'font-weight': 'bold' } },
  { selector: 'node:selected', style: { 'border-color': '#0969da', 'border-width': '3px' } },
  {
    selector: 'edge',
    style: {
      width: '1.5px',
      'line-color': '#9aa6b4',
      'target-arrow-color': '#9aa6b4',
      'target-arrow-shape': 'triangle',
      'curve-style': 'bezier',
    },
  },
  { selector: 'edge.soft', style: { 'line-style': 'dashed' } },
  { selector: 'edge.critical', style: { width: '3px', 'line-color': '#d1242f', 'target-arrow-color': '#d1242f' } },
];

/** Pairs `dependsOn>taskId` that lie on the critical path (listed from first task to last). */
const criticalEdges = (path) => {
  const pairs = new Set();
  for (let i = 1; i < path.length; i++) pairs.add(`${path[i - 1]}>${path[i]}`);
  return pairs;
};

const DONE = new Set(['completed', 'cancelled']);
const slackLabel = (node) => (node.status === 'completed' ? 'done' : DONE.has(node.status) ? '' : `slack ${Math.round(node.slack * 100) / 100} h`);

/**
 * Draws (or redraws) the graph in `container`. `nodes` and `edges` as the graph route answers them (`nodes` may be
 * a part of its nodes); `criticalPath`: its ids in order. Returns the cytoscape instance.
 */
export const drawGraph = (container, { nodes, edges, criticalPath, onSelect }) => {
  const onPath = criticalEdges(criticalPath);
  const known = new Set(nodes.map((t) => t.id));
  const elements = [];
  for (const node of nodes) {
    const slack = slackLabel(node);
    elements.push({
      group: 'nodes',
      data: {
        id: node.id,
        label: slack ? `${node.title}\n${slack}` : node.title,
        colour: STATUS_COLOURS[node.status] ?? '#ffffff',
        slack: node.slack,
      },
      classes: node.critical ? 'critical' : '',
    });
  }
  for (const edge of edges) {
    if (!known.has(edge.from) || !known.has(edge.to)) continue;
    const key = `${edge.to}>${edge.from}`;
    elements.push({
      group: 'edges',
      data: { id: key, source: edge.to, target: edge.from },
      classes: [edge.kind === 'soft' ? 'soft' : '', onPath.has(key) ? 'critical' : ''].join(' ').trim(),
    });
  }
  const same = container.cy && sameElements(container.cy, elements);
  if (same) {
    // The same tasks and edges: new statuses, slack and critical marks in place, with no new layout, so the view
    // the person panned and zoomed to stays (agents' heartbeats would otherwise re-lay it out all the time).
    container.cy.batch(() => {
      for (const element of elements) container.cy.getElementById(element.data.id).data(element.data).classes(element.classes);
    });
    container.cy.resize();
    return mark(container, container.cy);
  }
  container.cy?.destroy();
  const cy = cytoscape({
    container,
    elements,
    style: STYLE,
    layout: { name: 'dagre', rankDir: 'LR', nodeSep: 18, rankSep: 60, fit: true, padding: 20 },
    minZoom: 0.05,
    maxZoom: 1.2,
  });
  cy.on('tap', 'node', (event) => onSelect?.(event.target.id()));
  return mark(container, cy);
};

const sameElements = (cy, elements) => {
  if (cy.elements().length !== elements.length) return false;
  return elements.every((element) => cy.getElementById(element.data.id).length === 1);
};

/** Read by people's scripts and by the browser spec: the instance, and which tasks are drawn critical. */
const mark = (container, cy) => {
  container.cy = cy;
  container.dataset.nodes = String(cy.nodes().length);
  container.dataset.critical = cy
    .nodes('.critical')
    .map((n) => n.id())
    .join(',');
  return cy;
};
