import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { ARTIFACTS, chromiumInstalled, CHROMIUM, launchBrowser, type Browser } from '../support/browser.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

/**
 * The dashboard (docs/dashboard.md) in a real headless Chromium against a real server: sign-in, live updates from
 * the feed without a reload, the dependency graph with its critical path, the agents and the audit timeline, and a
 * read-only token that gets no write controls. Screenshots go to test-artifacts/dashboard-*.png.
 */
/** The page's globals a predicate reads (it runs in the page, whose CSP refuses eval: no string predicates). */
type GraphGlobal = {
  document: { querySelector: (selector: string) => { cy: { getElementById: (id: string) => { data: (key: string) => unknown } } } | null };
};
type PageGlobal = { document: { querySelector: (selector: string) => { dataset: Record<string, string | undefined> } | null } };

describe('The web dashboard, in headless Chromium', function () {
  this.timeout(60_000);
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  /** Every URL the browser asked for (pages, modules, API calls, the feed's socket), across every test. */
  const requested: string[] = [];
  /** Messages of the browser's console that report a refused resource (CSP) or a script error. */
  const complaints: string[] = [];
  const ids: Record<string, string> = {};

  const create = async (title: string, fields: Record<string, unknown> = {}) => {
    const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { projectId: 'web', title, ...fields });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    return created.body.id as string;
  };
  const screenshot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
  const watch = (p: Page) => {
    p.on('request', (request) => requested.push(request.url()));
    p.on('websocket', (socket) => requested.push(socket.url()));
    p.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) complaints.push(message.text());
    });
    p.on('pageerror', (error) => complaints.push(error.message));
  };
  const signIn = async (p: Page, token: string) => {
    await p.goto(`${app.baseUrl}/#project=web`);
    await p.fill('#token', token);
    await p.click('#signin-form button[type=submit]');
    await p.waitForSelector('body[data-rendered=board]');
  };

  before(async function () {
    if (!chromiumInstalled()) {
      console.error(`      ${CHROMIUM} is missing: .ci/run installs Debian's chromium; this spec never downloads a browser.`);
      this.skip();
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    app = await startTestApp();
    expect((await api(app.baseUrl, 'POST', '/api/v1/projects', { id: 'web', name: 'Web shop' })).status).to.equal(201);
    ids.design = await create('Design the checkout', { estimate: 3, priority: 'high' });
    ids.build = await create('Build the checkout', { estimate: 5 });
    ids.docs = await create('Write the help page', { estimate: 1, priority: 'low' });
    const dependency = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids.build}/dependencies`, { dependsOn: ids.design });
    expect(dependency.status, JSON.stringify(dependency.body)).to.equal(201);
    browser = await launchBrowser();
    page = browser.page;
    watch(page);
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  describe('when a person signs in', () => {
    it('refuses a token that is not one, and says why', async () => {
      await page.goto(`${app.baseUrl}/`);
      await page.fill('#token', 'not-a-token');
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('#signin-error:not([hidden])');
      expect(await page.textContent('#signin-error')).to.include('TOKEN_MALFORMED');
      expect(await page.evaluate<number>('sessionStorage.length')).to.equal(0);
    });

    it('keeps the pasted token in sessionStorage only: not in the URL, localStorage or a cookie', async () => {
      await signIn(page, app.adminToken);
      expect(await page.evaluate<string | null>("sessionStorage.getItem('vespera.token')")).to.equal(app.adminToken);
      expect(await page.evaluate<number>('localStorage.length')).to.equal(0);
      expect(await browser.context.cookies()).to.deep.equal([]);
      expect(await page.inputValue('#token')).to.equal('');
      expect(requested.filter((url) => url.includes(app.adminToken))).to.deep.equal([]);
      expect(await page.textContent('#whoami')).to.equal('admin');
      await page.waitForSelector('#live.state-live');
      await screenshot('board');
    });

    it('shows the project’s tasks on the board by status, with the write controls an admin token may use', async () => {
      expect(await page.textContent(`#board [data-status=pending] [data-task="${ids.design}"]`)).to.include('Design the checkout');
      expect(await page.locator('#board [data-status=pending] .card').count()).to.equal(3);
      expect(await page.locator('[data-write=create]').count()).to.equal(1);
    });
  });

  describe('when the project changes while the page is open', () => {
    it('shows a task created over REST on the board, without a reload', async () => {
      await page.evaluate('window.stillHere = true');
      ids.live = await create('Arrived over the feed', { estimate: 2 });
      await page.waitForSelector(`#board [data-status=pending] [data-task="${ids.live}"]`, { timeout: 5000 });
      expect(await page.evaluate<boolean | undefined>('window.stillHere')).to.equal(true);
      await screenshot('board-live');
    });

    it('moves a card to its new column when its status changes over REST', async () => {
      const changed = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids.docs}/status`, { status: 'blocked', reason: 'waiting for copy' });
      expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
      await page.waitForSelector(`#board [data-status=blocked] [data-task="${ids.docs}"]`, { timeout: 5000 });
      expect(await page.locator(`#board [data-status=pending] [data-task="${ids.docs}"]`).count()).to.equal(0);
    });

    it('creates a task from the board’s form, and the feed brings it onto the board', async () => {
      await page.fill('[data-write=create] input[name=title]', 'Typed into the dashboard');
      await page.fill('[data-write=create] input[name=estimate]', '4');
      await page.click('[data-write=create] button[type=submit]');
      await page.waitForSelector('#board [data-status=pending] .card:has-text("Typed into the dashboard")', { timeout: 5000 });
      const listed = await api(app.baseUrl, 'GET', '/api/v1/tasks?projectId=web&q=Typed');
      expect(listed.body.items.map((t: { estimate: number }) => t.estimate)).to.deep.equal([4]);
    });
  });

  describe('the dependency graph', () => {
    it('draws every task from the graph route, with the critical path highlighted and the slack of the others', async () => {
      await page.click('#views button[data-view=graph]');
      await page.waitForSelector('#graph-canvas[data-critical]', { timeout: 20_000 });
      // Design (3 h) → Build (5 h) is the longest chain: 8 h; the typed task (4 h) and the live one (2 h) have slack.
      // The page's own view of what it drew: the canvas keeps its cytoscape instance (web/graph.js).
      const drawn = await page.evaluate<{ critical: string[]; labels: Record<string, string>; criticalEdges: string[] }>(`(() => {
        const canvas = document.querySelector('#graph-canvas');
        return {
          critical: canvas.dataset.critical.split(',').sort(),
          labels: Object.fromEntries(canvas.cy.nodes().map((n) => [n.id(), n.data('label')])),
          criticalEdges: canvas.cy.edges('.critical').map((e) => e.id()),
        };
      })()`);
      expect(drawn.critical).to.deep.equal([ids.design, ids.build].sort());
      expect(drawn.criticalEdges).to.deep.equal([`${ids.design}>${ids.build}`]);
      expect(drawn.labels[ids.live!]).to.equal('Arrived over the feed\nslack 6 h');
      expect(drawn.labels[ids.design!]).to.equal('Design the checkout\nslack 0 h');
      expect(Object.keys(drawn.labels)).to.have.length(5);
      expect(await page.locator('.critical-path li').allTextContents()).to.deep.equal(['Design the checkout', 'Build the checkout']);
      // One request for all of it; the page no longer asks the critical-path route or replays the dependency events.
      expect(requested.filter((url) => url.includes('/projects/web/graph'))).to.have.length.above(0);
      expect(requested.filter((url) => url.includes('/critical-path'))).to.deep.equal([]);
      await screenshot('graph');
    });

    it('redraws when a dependency is added over REST: the new edge and the new critical path', async () => {
      const added = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids.live}/dependencies`, { dependsOn: ids.build });
      expect(added.status, JSON.stringify(added.body)).to.equal(201);
      await page.waitForFunction(
        (id) => ((globalThis as unknown as PageGlobal).document.querySelector('#graph-canvas')?.dataset.critical ?? '').includes(id),
        ids.live!,
        { timeout: 10_000 },
      );
      expect(await page.locator('.critical-path li').allTextContents()).to.deep.equal([
        'Design the checkout',
        'Build the checkout',
        'Arrived over the feed',
      ]);
    });
    it('updates a node in place when only a status changes: no new layout, the view stays where it was', async () => {
      await page.evaluate("document.querySelector('#graph-canvas').cy.stillHere = true");
      const typed = (await api(app.baseUrl, 'GET', '/api/v1/tasks?projectId=web&q=Typed')).body.items[0].id as string;
      const colourOf = (status: string) => (status === 'blocked' ? '#fde2e1' : '#e8eef7');
      for (const status of ['blocked', 'pending']) {
        const changed = await api(app.baseUrl, 'POST', `/api/v1/tasks/${typed}/status`, { status });
        expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
        await page.waitForFunction(
          ([id, colour]) =>
            (globalThis as unknown as GraphGlobal).document.querySelector('#graph-canvas')?.cy.getElementById(id!).data('colour') === colour,
          [typed, colourOf(status)],
          { timeout: 10_000 },
        );
      }
      expect(await page.evaluate<boolean>("document.querySelector('#graph-canvas').cy.stillHere === true")).to.equal(true);
    });
  });

  describe('project health and what to do next (project care)', () => {
    /** Project care: Ready (5 h) → Waits (5 h), a short side task for frontend developers; Unestimated comes live. */
    const care: Record<string, string> = {};
    const createIn = async (title: string, fields: Record<string, unknown> = {}) => {
      const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { projectId: 'care', title, ...fields });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      return created.body.id as string;
    };

    before(async () => {
      expect((await api(app.baseUrl, 'POST', '/api/v1/projects', { id: 'care', name: 'Care' })).status).to.equal(201);
      care.ready = await createIn('Ready and critical', { estimate: 5 });
      care.waits = await createIn('Waits on it', { estimate: 5 });
      care.side = await createIn('Side task for the front end', { estimate: 1 });
      const assigned = await api(app.baseUrl, 'POST', '/api/v1/roles/frontend_developer/assign', { taskId: care.side });
      expect(assigned.status, JSON.stringify(assigned.body)).to.equal(200);
      const dependency = await api(app.baseUrl, 'POST', `/api/v1/tasks/${care.waits}/dependencies`, { dependsOn: care.ready });
      expect(dependency.status, JSON.stringify(dependency.body)).to.equal(201);
    });
    after(async () => {
      await page.evaluate("location.hash = 'project=web&view=board'");
      await page.waitForSelector(`#board [data-task="${ids.design}"]`, { timeout: 5000 });
    });

    it('shows the five health findings with their counts, and a critical task without estimate created over REST, live', async () => {
      await page.evaluate("location.hash = 'project=care&view=health'");
      await page.waitForSelector('body[data-rendered=health] [data-finding=criticalWithoutEstimate][data-count="0"]', { timeout: 5000 });
      const findings = await Promise.all((await page.locator('#view-health .finding').all()).map((f) => f.getAttribute('data-finding')));
      expect(findings).to.deep.equal(['expiredLeases', 'staleClaims', 'blockedChains', 'criticalWithoutEstimate', 'slackUsed']);
      // Waits on it cannot start before Ready and critical is done.
      expect(await page.textContent(`[data-finding=blockedChains] li[data-task="${care.waits}"]`)).to.include('Waits on it');
      // At the end of the chain and without an estimate: critical, and the plan assumes the default 8 h.
      care.unestimated = await createIn('Unestimated');
      const added = await api(app.baseUrl, 'POST', `/api/v1/tasks/${care.unestimated}/dependencies`, { dependsOn: care.waits });
      expect(added.status, JSON.stringify(added.body)).to.equal(201);
      const item = `[data-finding=criticalWithoutEstimate][data-count="1"] li[data-task="${care.unestimated}"]`;
      await page.waitForSelector(item, { timeout: 5000 });
      expect(await page.textContent(item))
        .to.include('Unestimated')
        .and.include('assumes 8 h');
      await screenshot('health');
    });

    it('recommends the ready critical task first, with its reason, and follows the role picked', async () => {
      await page.click('#views button[data-view=next]');
      await page.waitForSelector(`body[data-rendered=next] .recommendations li[data-task="${care.ready}"]`, { timeout: 5000 });
      const first = page.locator('.recommendations li').first();
      expect(await first.getAttribute('data-task')).to.equal(care.ready);
      expect(await first.getAttribute('data-action')).to.equal('start');
      expect(await first.textContent())
        .to.include('Ready and critical')
        .and.include('Ready and on the critical path');
      expect(await page.locator(`.recommendations li[data-task="${care.unestimated}"][data-action=estimate]`).count()).to.equal(1);
      expect(await page.locator(`.recommendations li[data-task="${care.side}"]`).count()).to.equal(1);
      expect(await page.locator('#next-role option').allTextContents()).to.include.members(['any role', 'frontend_developer', 'backend_developer']);
      await screenshot('next');
      // A back-end developer is not offered the front end's task; tasks without a role are for anyone.
      await page.selectOption('#next-role', 'backend_developer');
      await page.waitForSelector(`.recommendations:not(:has([data-task="${care.side}"]))`, { timeout: 5000 });
      expect(await page.locator('.recommendations li').first().getAttribute('data-task')).to.equal(care.ready);
    });

    it('moves a task that is claimed out of the ready recommendations, live', async () => {
      const claimed = await api(app.baseUrl, 'POST', `/api/v1/tasks/${care.ready}/claim`, { agent: 'grace' });
      expect(claimed.status, JSON.stringify(claimed.body)).to.equal(200);
      await page.waitForSelector(`.recommendations li[data-task="${care.ready}"][data-action=unblock]`, { timeout: 5000 });
    });
  });

  describe('agents, the ready queue, the tree and the audit timeline', () => {
    it('shows an agent with its claim, lease, status note and file reservations, live', async () => {
      await page.click('#views button[data-view=agents]');
      await page.waitForSelector('body[data-rendered=agents]');
      const claimed = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids.design}/claim`, { agent: 'ada' });
      expect(claimed.status, JSON.stringify(claimed.body)).to.equal(200);
      const beat = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids.design}/heartbeat`, { agent: 'ada', note: 'sketching the form' });
      expect(beat.status, JSON.stringify(beat.body)).to.equal(200);
      const marked = await api(app.baseUrl, 'POST', '/api/v1/projects/web/file-marks', { agent: 'ada', files: ['src/checkout/**'], ttlSeconds: 600 });
      expect(marked.status, JSON.stringify(marked.body)).to.equal(200);
      await page.waitForSelector('[data-agent=ada] .marks', { timeout: 5000 });
      const text = await page.textContent('[data-agent=ada]');
      expect(text).to.include('Design the checkout').and.include('in_progress').and.include('lease in').and.include('sketching the form');
      expect(text).to.include('src/checkout/**');
      await screenshot('agents');
    });

    it('lists the ready tasks per role', async () => {
      await page.click('#views button[data-view=ready]');
      await page.waitForSelector('body[data-rendered=ready]');
      const anyRole = await page.locator('[data-role="any role"] li').allTextContents();
      expect(anyRole.some((t) => t.includes('Typed into the dashboard'))).to.equal(true);
      expect(anyRole.some((t) => t.includes('Build the checkout'))).to.equal(false);
      expect(await page.locator('.queue').count()).to.be.above(1);
    });

    it('shows the task tree, a subtask under its parent', async () => {
      const child = await create('Pick the payment provider', { parentId: ids.build });
      await page.click('#views button[data-view=tree]');
      await page.waitForSelector(`.tree li[data-task="${ids.build}"] li[data-task="${child}"]`, { timeout: 5000 });
      expect(await page.locator('.tree > li').count()).to.equal(5);
    });

    it('opens a task with its audit timeline, which grows as the task changes', async () => {
      await page.click(`.tree button[data-task="${ids.design}"]`);
      await page.waitForSelector(`#detail[data-task="${ids.design}"] .timeline li[data-type=LeaseExtended]`);
      const types = await Promise.all((await page.locator('#detail .timeline li').all()).map((li) => li.getAttribute('data-type')));
      expect(types).to.include.members(['TaskCreated', 'TaskClaimed', 'LeaseExtended']);
      expect(new URL(page.url()).hash).to.equal(`#project=web&view=tree&task=${ids.design}`);
      const completed = await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids.design}/complete`, { agent: 'ada', output: 'form drawn' });
      expect(completed.status, JSON.stringify(completed.body)).to.equal(200);
      await page.waitForSelector('#detail .timeline li[data-type=TaskCompleted]', { timeout: 5000 });
      await screenshot('timeline');
    });
  });

  describe('the projects and the controls of a write-capable token', () => {
    it('lists the projects with their task counts and the chosen one’s totals', async () => {
      expect((await api(app.baseUrl, 'POST', '/api/v1/projects', { id: 'ops', name: 'Operations' })).status).to.equal(201);
      await page.click('#views button[data-view=projects]');
      await page.waitForSelector('.project[data-project=ops]', { timeout: 5000 });
      expect(await page.textContent('.project[data-project=web]'))
        .to.include('Web shop')
        .and.include('6 tasks');
      expect(await page.textContent('.summary'))
        .to.include('Project web')
        .and.include('Tasks6');
      expect(await page.locator('#project-select option').allTextContents()).to.include.members(['Web shop', 'Operations']);
      await screenshot('projects');
    });

    it('changes a task’s status from its panel, and the board follows', async () => {
      await page.click('#views button[data-view=board]');
      await page.click(`#board button[data-task="${ids.docs}"]`);
      await page.waitForSelector(`#detail[data-task="${ids.docs}"] [data-write=status]`);
      await page.selectOption('#detail [data-write=status]', 'pending');
      await page.waitForSelector(`#board [data-status=pending] [data-task="${ids.docs}"]`, { timeout: 5000 });
      expect((await api(app.baseUrl, 'GET', `/api/v1/tasks/${ids.docs}`)).body.status).to.equal('pending');
      await page.waitForSelector('#detail .timeline li[data-type=TaskStatusChanged] >> nth=1');
    });

    it('shows a title that looks like markup as text, and runs none of it', async () => {
      const id = await create('<img src=x onerror="window.pwned=1"><b>bold</b>');
      await page.waitForSelector(`#board [data-task="${id}"]`, { timeout: 5000 });
      expect(await page.textContent(`#board button[data-task="${id}"]`)).to.equal('<img src=x onerror="window.pwned=1"><b>bold</b>');
      expect(await page.locator('#board img, #board b').count()).to.equal(0);
      expect(await page.evaluate<unknown>('window.pwned')).to.equal(undefined);
    });
  });

  describe('with a read-only token', () => {
    let viewer: Page;
    let viewerJti: string;
    before(async () => {
      const registered = await api(app.baseUrl, 'POST', '/api/v1/plugins', {
        id: 'viewer',
        name: 'Viewer',
        type: 'script',
        capabilities: ['task_reading'],
      });
      expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
      const issued = await api(app.baseUrl, 'POST', '/api/v1/plugins/viewer/tokens', { capabilities: ['task_reading'] });
      expect(issued.status, JSON.stringify(issued.body)).to.equal(201);
      viewer = await browser.context.newPage();
      watch(viewer);
      viewerJti = issued.body.jti as string;
      await signIn(viewer, issued.body.token as string);
    });

    it('sees the board and a task, and no control that writes', async () => {
      expect(await viewer.getAttribute('body', 'data-access')).to.equal('read');
      expect(await viewer.textContent('#whoami')).to.equal('viewer · read-only');
      expect(await viewer.locator('#board .card').count()).to.equal(7);
      await viewer.click(`#board button[data-task="${ids.build}"]`);
      await viewer.waitForSelector(`#detail[data-task="${ids.build}"] .timeline li`);
      expect(await viewer.locator('[data-write]').count()).to.equal(0);
      expect(await viewer.locator('#detail select, #board-toolbar form').count()).to.equal(0);
      expect(await viewer.textContent('#board-toolbar')).to.include('read-only');
      await viewer.screenshot({ path: path.join(ARTIFACTS, 'dashboard-read-only.png'), fullPage: true });
    });

    it('still gets live updates', async () => {
      const id = await create('Seen by the viewer');
      await viewer.waitForSelector(`#board [data-task="${id}"]`, { timeout: 5000 });
      expect(await viewer.locator('#board .card').count()).to.equal(8);
    });

    it('is signed out, with the reason, once its token is revoked', async () => {
      const revoked = await api(app.baseUrl, 'POST', `/api/v1/plugins/viewer/tokens/${viewerJti}/revoke`, {});
      expect(revoked.status, JSON.stringify(revoked.body)).to.equal(200);
      // The next event makes the page reload its view; that call is refused, and the page forgets the token.
      await create('Seen by nobody');
      await viewer.waitForSelector('#signin:not([hidden])', { timeout: 5000 });
      expect(await viewer.textContent('#signin-error')).to.include('TOKEN_REVOKED');
      expect(await viewer.evaluate<number>('sessionStorage.length')).to.equal(0);
    });
  });

  describe('when a person signs out', () => {
    it('forgets the token and shows the sign-in form again', async () => {
      await page.click('#signout');
      await page.waitForSelector('#signin:not([hidden])');
      expect(await page.evaluate<number>('sessionStorage.length')).to.equal(0);
      await page.reload();
      await page.waitForSelector('#signin:not([hidden])');
      expect(await page.isHidden('#app')).to.equal(true);
    });
  });

  describe('when all of it has run', () => {
    it('asked nothing of any other origin, and the browser reported no refused resource and no script error', () => {
      const origin = new URL(app.baseUrl);
      const elsewhere = requested.filter((url) => new URL(url).host !== origin.host);
      expect(elsewhere).to.deep.equal([]);
      expect(requested).to.include(`${app.baseUrl}/vendor/cytoscape.esm.min.mjs`);
      expect(requested).to.include(`ws://${origin.host}/api/v1/ws`);
      expect(complaints.filter((c) => !/status of 401/.test(c))).to.deep.equal([]);
    });
  });
});
