import tseslint from "typescript-eslint";
import importX, { createNodeResolver } from "eslint-plugin-import-x";

// The layering of DESIGN.md: emulator <- asm <- hypervisor <- lab <- debug, bench <- cli, and the
// page (web/) beside the CLI: two front ends on the same core. Each folder lists the folders it may
// import from; the CLI serves the page (so it may import web/), nothing but test/ imports test/, and
// test/ may import anything.
const MAY_IMPORT = {
  emulator: [],
  asm: ["emulator"],
  hypervisor: ["emulator", "asm"],
  lab: ["emulator", "asm", "hypervisor"],
  debug: ["emulator", "asm", "hypervisor", "lab"],
  bench: ["emulator", "asm", "hypervisor", "lab"],
  web: ["emulator", "asm", "hypervisor", "lab", "debug"],
  cli: ["emulator", "asm", "hypervisor", "lab", "debug", "web"],
};
const FOLDERS = [...Object.keys(MAY_IMPORT), "test"];
const LAYERING = "emulator <- asm <- hypervisor <- lab <- debug, bench <- cli; debug <- web <- cli (DESIGN.md)";

function layerZones() {
  return Object.entries(MAY_IMPORT).map(([target, allowed]) => ({
    target: `./${target}`,
    from: FOLDERS.filter((d) => d !== target && !allowed.includes(d)).map((d) => `./${d}`),
    message: `${target}/ may import only from ${allowed.length ? allowed.map((d) => `${d}/`).join(", ") : "itself"}; layering: ${LAYERING}.`,
  }));
}

export default tseslint.config(
  { ignores: ["node_modules/**", "bench/out/**", "cli/nvlab.js", "web/dist/**", ".artifacts/**"] },
  ...tseslint.configs.recommended,
  {
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js"] })],
      "import-x/extensions": [".ts", ".js"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      eqeqeq: ["error", "always"],
      // Value imports only: type-only references (Kvm <-> KvmVcpu <-> KvmS2Mmu, as kvm_host.h has
      // them) are erased at compile time and create no load-order circle.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": ["error", { zones: layerZones() }],
    },
  },
  {
    // With noUncheckedIndexedAccess every `!` is a claim the compiler cannot check: keep only those
    // that change a type.
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { "@typescript-eslint/no-unnecessary-type-assertion": "error" },
  },
);
