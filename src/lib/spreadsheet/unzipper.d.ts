/** The part of unzipper's public API the XLSX reader uses (the package ships no types). */
declare module 'unzipper' {
  import type { Duplex } from 'node:stream';

  const unzipper: {
    /** A streaming zip parser: write the zip in, read its entries out (with `forceStream`) in file order. */
    Parse(options?: { forceStream?: boolean; verbose?: boolean }): Duplex;
  };
  export default unzipper;
}
