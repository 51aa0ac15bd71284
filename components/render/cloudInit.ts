// cloud-init user data, one document per kind of machine:
//   components/render/runnerCloudInit.ts      CI runner machines (RunnerFleet); script body in scripts/runner-bootstrap.sh
//   components/render/dockerHostCloudInit.ts  provisioned Docker hosts (DockerHosts)
// and what both share in components/render/cloudInitCommon.ts. This module re-exports them.
export { CLOUD_INIT_PATHS, CloudInitConfigError, SSH_KEY_RE } from "./cloudInitCommon";
export { type DockerHostCloudInitArgs, renderDockerHostCloudInit } from "./dockerHostCloudInit";
export {
  type ForgeKind,
  LABEL_RE,
  RUNNER_BOOTSTRAP_FILE,
  type RunnerCloudInitArgs,
  VERSION_RE,
  renderRunnerBootstrapScript,
  renderRunnerCloudInit,
  renderRunnerUnit,
} from "./runnerCloudInit";
