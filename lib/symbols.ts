// Node 20 lacks Symbol.dispose / Symbol.asyncDispose; TypeScript's `using` looks them up at run time.
for (const name of ['dispose', 'asyncDispose'] as const) {
  if (typeof Symbol[name] !== 'symbol') {
    Object.defineProperty(Symbol, name, { value: Symbol.for(`Symbol.${name}`) });
  }
}
export {};
