// Types of scripts/build.mjs (plain JavaScript, so a start checks for a build without a transpiler).
export declare const DIST: string;
export declare function isStale(): boolean;
export declare function bundle(entryPoints: Record<string, string>, outdir: string): Promise<void>;
export declare function build(): Promise<void>;
export declare function buildIfStale(): Promise<boolean>;
