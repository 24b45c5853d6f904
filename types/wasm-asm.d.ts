// Typings for keystone-wasm and capstone-wasm: their package.json "exports" hide the bundled
// .d.ts files from TypeScript's resolver, so the parts nvlab uses are declared here.

declare module "keystone-wasm" {
  export class Keystone {
    constructor(arch: number, mode: number);
    asm(source: string, options?: { address?: number | bigint }): Uint8Array;
    errNo(): number;
    close(): void;
    static strError(errNo: number): string;
    static version(): { major: number; minor: number };
  }
  export const Const: { readonly [name: string]: number };
  export function loadKeystone(module?: Record<string, unknown>): Promise<void>;
}

declare module "capstone-wasm" {
  export interface Insn {
    id: number;
    address: number | bigint;
    size: number;
    bytes: Uint8Array;
    mnemonic: string;
    opStr: string;
  }
  export class Capstone {
    constructor(arch: number, mode: number);
    disasm(bytes: Uint8Array | number[], options?: { address?: number | bigint; count?: number }): Insn[];
    close(): void;
  }
  export const Const: { readonly [name: string]: number };
  export function loadCapstone(module?: Record<string, unknown>): Promise<void>;
}
