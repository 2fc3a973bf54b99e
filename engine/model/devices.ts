import * as ort from 'onnxruntime-node';
import { DlensError } from '../errors.js';

/** Where a model runs: onnxruntime's execution providers dlens asks for by name (`--device`). */
export const DEVICES = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

const HOW: Record<Device, string> = {
  cpu: '',
  cuda: 'on Linux with an NVIDIA GPU, install onnxruntime-node with its CUDA libraries (ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci) and CUDA 12 with cuDNN 9',
  dml: 'DirectML exists on Windows builds of onnxruntime-node only',
  coreml: 'CoreML exists on macOS builds of onnxruntime-node only',
  webgpu: 'WebGPU needs a GPU driver with Vulkan (Linux), Metal (macOS) or D3D12 (Windows)',
};

/** Checks the name; says which devices this onnxruntime-node provides when it lacks the one asked for. */
export function checkDevice(name: string): Device {
  if (!(DEVICES as readonly string[]).includes(name))
    throw new DlensError(`--device must be one of ${DEVICES.join(', ')}, got "${name}"`);
  return name as Device;
}

export function deviceUnavailable(device: Device, detail: string): DlensError {
  const have = ort
    .listSupportedBackends()
    .filter((b) => b.bundled)
    .map((b) => b.name);
  return new DlensError(
    `device ${device} is not available here (onnxruntime: ${detail.split('\n')[0]!.slice(0, 160)}); this onnxruntime-node provides ${have.join(', ')}. ${HOW[device]}`.trim(),
  );
}
