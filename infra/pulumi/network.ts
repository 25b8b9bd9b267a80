// The VPC: one subnet for the nodes with secondary ranges for pods and services (VPC-native cluster), Private
// Google Access so that private nodes reach GCS and Artifact Registry without public IPs, and Cloud NAT for the
// rest of their egress (Temporal Cloud, the KEDA images on ghcr.io, the GPU driver installer).
import * as gcp from '@pulumi/gcp';
import type { InfraConfig } from './config';

export const POD_RANGE = 'pods';
export const SERVICE_RANGE = 'services';

export function createNetwork(config: InfraConfig) {
  const { project, region, name } = config;
  const network = new gcp.compute.Network(`${name}-vpc`, {
    project,
    name: `${name}-vpc`,
    autoCreateSubnetworks: false,
    routingMode: 'REGIONAL',
  });
  const subnetwork = new gcp.compute.Subnetwork(`${name}-nodes`, {
    project,
    region,
    name: `${name}-nodes`,
    network: network.id,
    ipCidrRange: config.network.nodesCidr,
    privateIpGoogleAccess: true,
    secondaryIpRanges: [
      { rangeName: POD_RANGE, ipCidrRange: config.network.podsCidr },
      { rangeName: SERVICE_RANGE, ipCidrRange: config.network.servicesCidr },
    ],
  });
  const router = new gcp.compute.Router(`${name}-router`, {
    project,
    region,
    name: `${name}-router`,
    network: network.id,
  });
  new gcp.compute.RouterNat(`${name}-nat`, {
    project,
    region,
    name: `${name}-nat`,
    router: router.name,
    natIpAllocateOption: 'AUTO_ONLY',
    sourceSubnetworkIpRangesToNat: 'ALL_SUBNETWORKS_ALL_IP_RANGES',
    logConfig: { enable: true, filter: 'ERRORS_ONLY' },
  });
  return { network, subnetwork };
}
