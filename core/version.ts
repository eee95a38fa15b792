/** tsips's version (from package.json) and the OpenSIPS release it is wire-compatible with. */
import pkg from "../package.json" with { type: "json" };

export const TSIPS_VERSION: string = pkg.version;
export const OPENSIPS_COMPAT = "3.6.8";
