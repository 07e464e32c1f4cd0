/**
 * Image configuration (OCI image-spec config.md, plus Docker's extra keys:
 * Healthcheck, OnBuild, Shell). The image ID is the sha256 of the exact
 * config bytes, so configs berth did not create are never re-serialised.
 */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The `config` object inside an image config (the container defaults). */
export interface ContainerDefaults {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  config?: ContainerDefaults;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** Go's GOARCH name for this machine, as image configs and platforms spell it. */
export function hostArchitecture(): string {
  switch (process.arch) {
    case 'x64': return 'amd64';
    case 'ia32': return '386';
    case 'arm64': return 'arm64';
    case 'arm': return 'arm';
    case 'ppc64': return 'ppc64le';
    default: return process.arch;
  }
}
