/**
 * A stand-in Kubernetes API server of a fresh, empty cluster, for running the
 * real kubectl against: discovery for the kinds the stack writes, GET answers
 * 404 (nothing exists yet), POST creates. Like the real one it refuses to
 * create an object in a namespace that does not exist (404, `namespaces "x"
 * not found`), which is what a plain `kubectl apply -f dist/<env>/` runs into
 * when a namespaced file sorts before the Namespace. Only `kube-system` exists
 * from the start.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

/** group/version -> [resource, kind, namespaced] */
const RESOURCES: Record<string, [string, string, boolean][]> = {
  v1: [
    ['namespaces', 'Namespace', false],
    ['configmaps', 'ConfigMap', true],
    ['services', 'Service', true],
    ['serviceaccounts', 'ServiceAccount', true],
    ['persistentvolumeclaims', 'PersistentVolumeClaim', true],
    ['secrets', 'Secret', true],
  ],
  'apps/v1': [['deployments', 'Deployment', true], ['statefulsets', 'StatefulSet', true], ['daemonsets', 'DaemonSet', true]],
  'batch/v1': [['jobs', 'Job', true]],
  'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true]],
  'autoscaling/v2': [['horizontalpodautoscalers', 'HorizontalPodAutoscaler', true]],
  'networking.k8s.io/v1': [['networkpolicies', 'NetworkPolicy', true], ['ingresses', 'Ingress', true]],
  'rbac.authorization.k8s.io/v1': [['roles', 'Role', true], ['rolebindings', 'RoleBinding', true]],
  'helm.cattle.io/v1': [['helmchartconfigs', 'HelmChartConfig', true]],
};

export interface FakeApiServer {
  readonly url: string;
  /** Every create the server accepted, in order: `Kind namespace/name` (`Kind name` when cluster-scoped). */
  readonly created: string[];
  /** Every create it refused, with the reason. */
  readonly refused: string[];
  close(): Promise<void>;
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  const namespaces = new Set(['kube-system']);
  const created: string[] = [];
  const refused: string[] = [];

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const send = (code: number, value: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const notFound = (message: string, details: Record<string, string>) =>
        send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message, details });

      if (url.pathname === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      if (url.pathname === '/apis') {
        const groups = Object.keys(RESOURCES).filter((gv) => gv.includes('/')).map((gv) => {
          const [group, version] = gv.split('/');
          return { name: group, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
        });
        return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      }
      const discovery = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(url.pathname);
      if (discovery) {
        const gv = discovery[1] ?? discovery[2];
        const resources = (RESOURCES[gv] ?? []).map(([name, kind, namespaced]) => ({
          name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        }));
        return send(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources });
      }
      // /api/v1/namespaces[/<ns>/<resource>][/<name>] and /apis/<g>/<v>/namespaces/<ns>/<resource>[/<name>]
      const object = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
      const clusterNamespace = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/.exec(url.pathname);
      if (req.method === 'GET' && (object || clusterNamespace)) {
        const name = clusterNamespace ? clusterNamespace[1] : object![3];
        if (clusterNamespace && name && namespaces.has(name)) return send(200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name } });
        return notFound(`${name ?? 'object'} not found`, { name: name ?? '' });
      }
      if (req.method === 'POST' && (object || clusterNamespace)) {
        const manifest = JSON.parse(body);
        const name: string = manifest.metadata.name;
        if (clusterNamespace) {
          namespaces.add(name);
          created.push(`Namespace ${name}`);
          return send(201, manifest);
        }
        const namespace = object![1];
        if (namespace !== undefined && !namespaces.has(namespace)) {
          refused.push(`${manifest.kind} ${namespace}/${name}: namespaces "${namespace}" not found`);
          return notFound(`namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
        }
        created.push(`${manifest.kind} ${namespace}/${name}`);
        return send(201, manifest);
      }
      return notFound(`the server could not find the requested resource (${req.method} ${url.pathname})`, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    created,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
