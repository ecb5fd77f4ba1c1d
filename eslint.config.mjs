// `npm run lint`: ESLint's and typescript-eslint's recommended rules (without type information:
// `npm run typecheck` checks the types), plus the rules that catch unused names and a module
// imported twice.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Generated or vendored output, the Go module of the local control plane, and npm run mutate's sandbox and reports.
  globalIgnores(['imports/', 'build/', 'dist/', '.cache/', 'coverage/', 'node_modules/', 'cluster/', '.cdk8s.out/', '**/*.staging-*/', '**/*.retired-*/', '.stryker-tmp/', 'reports/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // Unused imports, variables and parameters (after the last one used), in the .js files too, which tsc's
      // noUnusedLocals never sees. A leading underscore marks a name unused on purpose; the names beside
      // `...rest` in a destructuring are how an object is copied without some keys (tsc allows them too).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // One import statement per module (a type-only import included). Re-exports are left alone: the
      // public index re-exports a module's types and values in separate statements on purpose.
      'no-duplicate-imports': 'error',
      // Parsed YAML and JSON (manifests, kubectl's answers) is `any` at its boundaries: about 250 uses, most in tests.
      '@typescript-eslint/no-explicit-any': 'off',
      // require() is deliberate where it is used: a lazy or computed load (kubernetes-models by kind), a load
      // inside jest.isolateModules or a single test, and the CommonJS .js files, which have no import.
      '@typescript-eslint/no-require-imports': 'off',
      // The tests' regular expressions match column-aligned output with its spaces as printed (`~  update +`).
      'no-regex-spaces': 'off',
      // The errors rethrown from a caught one carry what the reader needs in the message (the file, the
      // reason) on purpose; a `cause` would change the thrown errors.
      'preserve-caught-error': 'off',
    },
  },
  {
    // The jest configs, its global setup and the tests' helper scripts: CommonJS run by node.
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { __dirname: 'readonly', __filename: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly' },
    },
  },
);
