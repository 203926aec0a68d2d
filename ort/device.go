package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// CUDAPluginName is the file name of ONNX Runtime's CUDA plugin execution-provider library
// inside the cache folder (fetched by `make setup-cuda` into .cache/ort-cuda).
const CUDAPluginName = "libonnxruntime_providers_cuda.so"

// The execution-provider names ONNX Runtime gives the EP devices this package uses.
const (
	cpuEPName  = "CPUExecutionProvider"
	cudaEPName = "CUDAExecutionProvider"
)

// A Device is where sessions compute and where Values live: the CPU, or a CUDA GPU through
// ONNX Runtime's CUDA plugin execution provider. There is one Device per provider in a process;
// it is never closed. Sessions made by the same Device may share Values.
type Device struct {
	provider Provider
	ep       unsafe.Pointer // const OrtEpDevice*, owned by the environment
	mem      unsafe.Pointer // const OrtMemoryInfo* of the device's default memory, owned by ep
	alloc    unsafe.Pointer // OrtAllocator*: the environment's shared allocator for mem
}

// EPDevice describes one device an execution provider offers (ONNX Runtime's OrtEpDevice).
type EPDevice struct {
	EP       string // execution provider, e.g. "CPUExecutionProvider", "CUDAExecutionProvider"
	Hardware string // "cpu", "gpu" or "npu"
	VendorID uint32 // PCI vendor id (0x10de for NVIDIA), 0 where unknown
	DeviceID uint32 // PCI device id, 0 where unknown
}

var devices struct {
	sync.Mutex
	byProvider map[Provider]*Device
	cudaPlugin string // path of the registered CUDA plugin library ("" before registration)
}

// OpenDevice returns the Device of cfg.Provider ("" is the CPU), initialising ONNX Runtime
// (Init with FindLibrary) if needed. For CUDA it first registers the CUDA plugin library
// (FindCUDAPlugin) with the environment; the CUDA libraries it needs must be on
// LD_LIBRARY_PATH. Later calls for the same provider return the same Device. Only
// cfg.Provider is read.
func OpenDevice(cfg SessionConfig) (*Device, error) {
	if err := ready(); err != nil {
		return nil, err
	}
	p := cfg.Provider
	if p == "" {
		p = CPU
	}
	devices.Lock()
	defer devices.Unlock()
	if d := devices.byProvider[p]; d != nil {
		return d, nil
	}
	var epName string
	switch p {
	case CPU:
		epName = cpuEPName
	case CUDA:
		if err := registerCUDAPlugin(); err != nil {
			return nil, err
		}
		epName = cudaEPName
	default:
		return nil, fmt.Errorf("unknown execution provider %q (want cpu or cuda)", p)
	}
	eps, err := epDevices()
	if err != nil {
		return nil, err
	}
	var ep unsafe.Pointer
	for _, e := range eps {
		if epDeviceName(e) == epName {
			ep = e
			break
		}
	}
	if ep == nil {
		if p == CUDA {
			return nil, fmt.Errorf("no CUDA device: the CUDA plugin %s is registered but offers no GPU (check nvidia-smi and that the driver supports CUDA 13)", devices.cudaPlugin)
		}
		return nil, fmt.Errorf("onnx runtime %s (%s) offers no %s device", Version(), libPath, epName)
	}
	mem := epDeviceMemory(ep)
	if mem == nil {
		if p != CPU {
			return nil, fmt.Errorf("%s device has no memory info", epName)
		}
		mem = capi.cpu // the CPU device leaves its memory implicit
	}
	alloc, err := sharedAllocator(mem)
	if err != nil {
		return nil, fmt.Errorf("%s device allocator: %w", epName, err)
	}
	if alloc == nil {
		return nil, fmt.Errorf("%s device has no shared allocator", epName)
	}
	d := &Device{provider: p, ep: ep, mem: mem, alloc: alloc}
	if devices.byProvider == nil {
		devices.byProvider = map[Provider]*Device{}
	}
	devices.byProvider[p] = d
	return d, nil
}

// Provider returns the device's execution provider.
func (d *Device) Provider() Provider { return d.provider }

// EPDevices lists the devices the execution providers registered in this process offer (the
// CPU always; a GPU after OpenDevice for CUDA has registered the plugin).
func EPDevices() ([]EPDevice, error) {
	if err := ready(); err != nil {
		return nil, err
	}
	eps, err := epDevices()
	if err != nil {
		return nil, err
	}
	out := make([]EPDevice, len(eps))
	for i, e := range eps {
		out[i] = describeEPDevice(e)
	}
	return out, nil
}

// registerCUDAPlugin registers the CUDA plugin library once per process. devices is locked.
func registerCUDAPlugin() error {
	if devices.cudaPlugin != "" {
		return nil
	}
	path, err := FindCUDAPlugin()
	if err != nil {
		return err
	}
	// The plugin links against the provider bridge (Provider_GetHost and the like) exported by
	// libonnxruntime_providers_shared.so, which ships beside it: make its symbols global first.
	bridge := filepath.Join(filepath.Dir(path), "libonnxruntime_providers_shared.so")
	if _, err := os.Stat(bridge); err == nil {
		if err := loadGlobal(bridge); err != nil {
			return fmt.Errorf("loading %s: %w", bridge, err)
		}
	}
	if err := registerEPLibrary(cudaEPName, path); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "libcuda.so") {
			return fmt.Errorf("registering the CUDA plugin %s: %w (libcuda.so.1 comes with the NVIDIA driver: this machine has none, or it is not on the loader's path)", path, err)
		}
		if strings.Contains(msg, ".so") && (strings.Contains(msg, "cannot open") || strings.Contains(msg, "No such file")) {
			return fmt.Errorf("registering the CUDA plugin %s: %w (the CUDA 13 libraries libcudart, libcublas, libcublasLt, libcurand and cuDNN 9 must be on LD_LIBRARY_PATH)", path, err)
		}
		return fmt.Errorf("registering the CUDA plugin %s with onnx runtime %s (%s): %w", path, Version(), libPath, err)
	}
	devices.cudaPlugin = path
	return nil
}

// FindCUDAPlugin returns the path of the CUDA plugin library: $ORT_CUDA_PLUGIN, or
// libonnxruntime_providers_cuda.so in the folder "ort-cuda" of the caches FindLibrary searches.
func FindCUDAPlugin() (string, error) {
	if p := os.Getenv("ORT_CUDA_PLUGIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("ORT_CUDA_PLUGIN=%s: %w", p, err)
		}
		return p, nil
	}
	if p := findInCaches("ort-cuda", CUDAPluginName); p != "" {
		return p, nil
	}
	return "", errors.New("the CUDA plugin library " + CUDAPluginName + " was not found: run `make setup-cuda` (fetches it into .cache/ort-cuda) or set ORT_CUDA_PLUGIN")
}

// CacheEnv is the environment variable that names the project's cache folder.
const CacheEnv = "LTECLI_CACHE"

// CacheDir returns the project's cache folder (ONNX Runtime libraries, the extracted embedded
// model): $LTECLI_CACHE when set (explicit is then true), else ltecli in the user cache
// folder. It is the one reader of the variable.
func CacheDir() (dir string, explicit bool, err error) {
	if c := os.Getenv(CacheEnv); c != "" {
		return c, true, nil
	}
	uc, err := os.UserCacheDir()
	if err != nil {
		return "", false, fmt.Errorf("no cache folder: %w (set %s)", err, CacheEnv)
	}
	return filepath.Join(uc, "ltecli"), false, nil
}

// findInCaches returns the first existing file sub/name in $LTECLI_CACHE, in .cache beside the
// running executable's folder (bin/../.cache), in .cache of the working directory and its
// parents, and in the user cache folder's ltecli; "" if none exists.
func findInCaches(sub, name string) string {
	var candidates []string
	if c, explicit, _ := CacheDir(); explicit {
		candidates = append(candidates, filepath.Join(c, sub, name))
	}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", ".cache", sub, name))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			candidates = append(candidates, filepath.Join(dir, ".cache", sub, name))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if uc, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(uc, "ltecli", sub, name))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Clean(c)
		}
	}
	return ""
}

// CUDACoreName is the file name of the ONNX Runtime core released with the CUDA plugin.
const CUDACoreName = "libonnxruntime.so"

// CoreFor returns the ONNX Runtime core library to load for a provider: explicit when not
// empty (--ort-lib, ORT_LIB); for CUDA the 1.29 core that `make setup-cuda` fetches with the
// plugin, where present (the 1.30 core of `make setup` crashes registering that plugin,
// measured on an H200); otherwise "" (Init's own lookup).
func CoreFor(p Provider, explicit string) string {
	if explicit != "" || p != CUDA {
		return explicit
	}
	return findInCaches("ort-cuda", CUDACoreName)
}
