/**
 * Module boundaries of ../shared/design.md ("Folders and what each owns", column "must not"), checked by
 * `npm run lint`. Type-only imports count too, except for TensorFlow's types (see no-direct-tensorflow).
 */
const layer = (name) => `^src/${name}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycle that exists at run time (a cycle through type-only imports is erased by the compiler)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'models-know-no-tracking-or-sweeps',
      comment: 'src/models: the four GAN variants behind one interface; must not know about tracking or sweeps',
      severity: 'error',
      from: { path: layer('models') },
      to: { path: [layer('tracking'), layer('sweep'), layer('report'), layer('cli'), layer('train'), '^metrics/'] },
    },
    {
      name: 'train-emits-never-tracks',
      comment: 'src/train: must not write to MLflow directly (it emits; the trial wires)',
      severity: 'error',
      from: { path: layer('train') },
      to: { path: [layer('tracking'), layer('sweep'), layer('report'), layer('cli')] },
    },
    {
      name: 'metrics-stand-alone',
      comment: 'metrics/: usable on its own; its own interfaces, only the TensorFlow backend and utilities from src/',
      severity: 'error',
      from: { path: '^metrics/' },
      to: { path: '^src/', pathNot: [layer('backend'), layer('util')] },
    },
    {
      name: 'data-depends-on-nothing-downstream',
      severity: 'error',
      from: { path: layer('data') },
      to: { path: [layer('models'), layer('train'), layer('sweep'), layer('tracking'), layer('report'), layer('cli'), '^metrics/'] },
    },
    {
      name: 'tracking-knows-no-work',
      comment: 'src/tracking: the Tracker interface and MLflow; it does not train, sweep or report',
      severity: 'error',
      from: { path: layer('tracking') },
      to: { path: [layer('models'), layer('train'), layer('sweep'), layer('report'), layer('cli'), '^metrics/(?!protocol)'] },
    },
    {
      name: 'report-recomputes-nothing',
      comment: 'src/report reads the tracker; it must not recompute a metric, train or sweep',
      severity: 'error',
      from: { path: layer('report') },
      to: { path: ['^src/models/(?!types\.ts$)', layer('train'), layer('sweep'), layer('cli'), '^metrics/(?!protocol)'] },
    },
    {
      name: 'sweep-holds-no-model-code',
      comment: 'src/sweep schedules trials; model code stays in src/models (it may build models through their entry)',
      severity: 'error',
      from: { path: layer('sweep') },
      to: { path: [layer('cli'), layer('report'), '^src/models/(?!index\\.ts$|types\\.ts$)'] },
    },
    {
      name: 'cli-is-the-top',
      comment: 'nothing imports the command line',
      severity: 'error',
      from: { pathNot: [layer('cli'), '^test/', '^bench/'] },
      to: { path: layer('cli') },
    },
    {
      name: 'no-direct-tensorflow',
      comment: 'src/backend/ is the one entry point that loads TensorFlow; others import tf from it (types are fine)',
      severity: 'error',
      from: { pathNot: [layer('backend'), '^test/', '^bench/'] },
      to: { path: 'node_modules/@tensorflow/tfjs-node', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules', '^\\.venv', '^results/', '^runs/', '^\\.cache/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
