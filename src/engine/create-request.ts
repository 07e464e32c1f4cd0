/**
 * The body of `POST /containers/create` as the engine receives it: already
 * decoded against the Engine API spec (api/validate.ts), so every field has
 * its API type; checked by create-checks.ts, merged with the image's
 * defaults by container-config.ts.
 */
export interface CreateRequest {
  Hostname?: string; Domainname?: string; User?: string;
  AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean; OpenStdin?: boolean; StdinOnce?: boolean;
  Env?: string[] | null; Cmd?: string[] | string | null; Entrypoint?: string[] | string | null;
  Healthcheck?: Record<string, any> | null;
  Image?: string; Volumes?: Record<string, object> | null; WorkingDir?: string;
  Labels?: Record<string, string> | null; StopSignal?: string; StopTimeout?: number | null;
  NetworkDisabled?: boolean; MacAddress?: string; OnBuild?: string[] | null; Shell?: string[] | null;
  ArgsEscaped?: boolean;
  HostConfig?: Record<string, any>;
  NetworkingConfig?: Record<string, any>;
}
