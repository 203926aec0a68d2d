package ort

// This file calls ONNX Runtime's C API directly, on the library that onnxruntime_go loaded.
//
// Why: execution-provider devices (GetEpDevices, SessionOptionsAppendExecutionProvider_V2),
// tensors in device memory (shared allocators, CopyTensors) and IoBinding with such tensors
// have no entry point in onnxruntime_go v1.27.0, and its session and value types keep their C
// pointers in unexported fields, so they cannot be mixed with values made here. Sessions and
// values are therefore made here for every provider (one code path for the CPU and CUDA);
// onnxruntime_go still finds and loads the library and creates the process environment.
//
// How: ONNX Runtime's header is not part of this repository and cgo cannot include it from the
// module cache, so the few types are declared here as opaque pointers, and each function is
// called through its slot in the OrtApi table. That table is append-only and its layout is
// stable across releases (ONNX Runtime's ABI promise); the slot numbers below were read from
// onnxruntime_c_api.h, and TestAPISlotsMatchHeader checks them against the header that ships
// with onnxruntime_go. GetApi(minAPIVersion) makes a library older than every slot used fail
// at load time instead of calling past the end of its table.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void OrtStatusP;
typedef const void* const* ltApi;
typedef struct {
	ltApi (*GetApi)(uint32_t version);
	const char* (*GetVersionString)(void);
} ltApiBase;

// lt_get_api finds OrtGetApiBase in the already loaded library at path and returns its table.
static ltApi lt_get_api(const char* path, uint32_t version, const char** err) {
	void* h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (!h) { *err = dlerror(); return NULL; }
	ltApiBase* (*get_base)(void) = (ltApiBase* (*)(void))dlsym(h, "OrtGetApiBase");
	dlclose(h); // drops the reference taken above; onnxruntime_go keeps its own
	if (!get_base) { *err = "OrtGetApiBase not found"; return NULL; }
	ltApi api = get_base()->GetApi(version);
	if (!api) { *err = "GetApi refused the requested API version"; }
	return api;
}

static const void* lt_slot(ltApi api, int i) { return api[i]; }

// lt_load_global loads a library with its symbols visible to libraries loaded later (the
// provider bridge the CUDA plugin links against); the handle is kept for the process.
static const char* lt_load_global(const char* path) {
	if (!dlopen(path, RTLD_NOW | RTLD_GLOBAL)) { return dlerror(); }
	return NULL;
}

// Thin trampolines: Go cannot call C function pointers.
static const char* lt_GetErrorMessage(const void* f, OrtStatusP* s) { return ((const char* (*)(OrtStatusP*))f)(s); }
static void lt_ReleaseStatus(const void* f, OrtStatusP* s) { ((void (*)(OrtStatusP*))f)(s); }
static void lt_Release(const void* f, void* p) { ((void (*)(void*))f)(p); }

static OrtStatusP* lt_CreateEnv(const void* f, int level, const char* id, void** out) {
	return ((OrtStatusP* (*)(int, const char*, void**))f)(level, id, out);
}
static OrtStatusP* lt_CreateSessionOptions(const void* f, void** out) { return ((OrtStatusP* (*)(void**))f)(out); }
static OrtStatusP* lt_OptionsInt(const void* f, void* o, int n) { return ((OrtStatusP* (*)(void*, int))f)(o, n); }
static OrtStatusP* lt_OptionsVoid(const void* f, void* o) { return ((OrtStatusP* (*)(void*))f)(o); }
static OrtStatusP* lt_AddSessionConfigEntry(const void* f, void* o, const char* k, const char* v) {
	return ((OrtStatusP* (*)(void*, const char*, const char*))f)(o, k, v);
}
static OrtStatusP* lt_CreateSessionFromArray(const void* f, void* env, const void* data, size_t n, void* opts, void** out) {
	return ((OrtStatusP* (*)(void*, const void*, size_t, void*, void**))f)(env, data, n, opts, out);
}
static OrtStatusP* lt_RegisterExecutionProviderLibrary(const void* f, void* env, const char* name, const char* path) {
	return ((OrtStatusP* (*)(void*, const char*, const char*))f)(env, name, path);
}
static OrtStatusP* lt_GetEpDevices(const void* f, void* env, const void* const** devs, size_t* n) {
	return ((OrtStatusP* (*)(void*, const void* const**, size_t*))f)(env, devs, n);
}
static OrtStatusP* lt_AppendEpV2(const void* f, void* opts, void* env, const void* dev, const char* const* keys, const char* const* vals, size_t n) {
	const void* devs[1] = {dev};
	return ((OrtStatusP* (*)(void*, void*, const void* const*, size_t, const char* const*, const char* const*, size_t))f)(opts, env, devs, 1, keys, vals, n);
}
static const char* lt_EpDevice_EpName(const void* f, const void* d) { return ((const char* (*)(const void*))f)(d); }
static const void* lt_EpDevice_Device(const void* f, const void* d) { return ((const void* (*)(const void*))f)(d); }
static const void* lt_EpDevice_MemoryInfo(const void* f, const void* d, int memType) { return ((const void* (*)(const void*, int))f)(d, memType); }
static int lt_HardwareDevice_Type(const void* f, const void* d) { return ((int (*)(const void*))f)(d); }
static uint32_t lt_HardwareDevice_U32(const void* f, const void* d) { return ((uint32_t (*)(const void*))f)(d); }
static OrtStatusP* lt_CreateAndRegisterAllocator(const void* f, void* env, const void* info, const void* cfg) {
	return ((OrtStatusP* (*)(void*, const void*, const void*))f)(env, info, cfg);
}
static OrtStatusP* lt_GetSharedAllocator(const void* f, void* env, const void* info, void** out) {
	return ((OrtStatusP* (*)(void*, const void*, void**))f)(env, info, out);
}
static OrtStatusP* lt_CreateCpuMemoryInfo(const void* f, int alloc, int mem, void** out) {
	return ((OrtStatusP* (*)(int, int, void**))f)(alloc, mem, out);
}
static OrtStatusP* lt_CreateTensorAsOrtValue(const void* f, void* alloc, const int64_t* shape, size_t rank, int dtype, void** out) {
	return ((OrtStatusP* (*)(void*, const int64_t*, size_t, int, void**))f)(alloc, shape, rank, dtype, out);
}
static OrtStatusP* lt_CreateTensorWithDataAsOrtValue(const void* f, const void* info, void* data, size_t bytes, const int64_t* shape, size_t rank, int dtype, void** out) {
	return ((OrtStatusP* (*)(const void*, void*, size_t, const int64_t*, size_t, int, void**))f)(info, data, bytes, shape, rank, dtype, out);
}
static OrtStatusP* lt_GetTensorMutableData(const void* f, void* v, void** out) { return ((OrtStatusP* (*)(void*, void**))f)(v, out); }
static OrtStatusP* lt_GetTensorMemoryInfo(const void* f, const void* v, const void** out) { return ((OrtStatusP* (*)(const void*, const void**))f)(v, out); }

// lt_TensorInfo reads a value's element type and shape (up to cap dimensions) in one call.
static OrtStatusP* lt_TensorInfo(ltApi api, int sGetInfo, int sType, int sCount, int sDims, int sRelease,
		const void* v, int* dtype, int64_t* dims, size_t cap, size_t* rank) {
	void* info = NULL;
	OrtStatusP* st = ((OrtStatusP* (*)(const void*, void**))api[sGetInfo])(v, &info);
	if (st) return st;
	st = ((OrtStatusP* (*)(const void*, int*))api[sType])(info, dtype);
	if (!st) st = ((OrtStatusP* (*)(const void*, size_t*))api[sCount])(info, rank);
	if (!st && *rank <= cap) st = ((OrtStatusP* (*)(const void*, int64_t*, size_t))api[sDims])(info, dims, *rank);
	((void (*)(void*))api[sRelease])(info);
	return st;
}

static OrtStatusP* lt_CopyTensor(const void* f, void* env, const void* src, void* dst) {
	const void* s[1] = {src};
	void* d[1] = {dst};
	return ((OrtStatusP* (*)(void*, const void* const*, void* const*, void*, size_t))f)(env, s, d, NULL, 1);
}

static OrtStatusP* lt_CreateIoBinding(const void* f, void* sess, void** out) { return ((OrtStatusP* (*)(void*, void**))f)(sess, out); }
static OrtStatusP* lt_Bind(const void* f, void* b, const char* name, const void* v) {
	return ((OrtStatusP* (*)(void*, const char*, const void*))f)(b, name, v);
}
static OrtStatusP* lt_RunWithBinding(const void* f, void* sess, void* b) {
	return ((OrtStatusP* (*)(void*, const void*, const void*))f)(sess, NULL, b);
}
// lt_BoundOutputs copies the bound output values into out (cap entries) and frees ORT's array.
static OrtStatusP* lt_BoundOutputs(ltApi api, int sGet, int sFree, void* b, void* alloc, void** out, size_t cap, size_t* n) {
	void** vals = NULL;
	OrtStatusP* st = ((OrtStatusP* (*)(const void*, void*, void***, size_t*))api[sGet])(b, alloc, &vals, n);
	if (st) return st;
	if (*n <= cap) memcpy(out, vals, *n * sizeof(void*));
	if (vals) st = ((OrtStatusP* (*)(void*, void*))api[sFree])(alloc, vals);
	return st;
}
static OrtStatusP* lt_GetAllocatorWithDefaultOptions(const void* f, void** out) { return ((OrtStatusP* (*)(void**))f)(out); }
*/
import "C"

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"unsafe"
)

// minAPIVersion is the OrtApi version that holds every slot used here (ONNX Runtime 1.23).
const minAPIVersion = 23

// apiSlot is the position of a member of struct OrtApi in onnxruntime_c_api.h.
type apiSlot int

// The OrtApi members this package calls.
const (
	slotGetErrorMessage                  apiSlot = 2
	slotCreateEnv                        apiSlot = 3
	slotCreateSessionFromArray           apiSlot = 8
	slotCreateSessionOptions             apiSlot = 10
	slotDisableCpuMemArena               apiSlot = 19
	slotSetSessionGraphOptimizationLevel apiSlot = 23
	slotSetIntraOpNumThreads             apiSlot = 24
	slotSetInterOpNumThreads             apiSlot = 25
	slotCreateTensorAsOrtValue           apiSlot = 48
	slotCreateTensorWithDataAsOrtValue   apiSlot = 49
	slotGetTensorMutableData             apiSlot = 51
	slotGetTensorElementType             apiSlot = 60
	slotGetDimensionsCount               apiSlot = 61
	slotGetDimensions                    apiSlot = 62
	slotGetTensorTypeAndShape            apiSlot = 65
	slotCreateCpuMemoryInfo              apiSlot = 69
	slotAllocatorFree                    apiSlot = 76
	slotGetAllocatorWithDefaultOptions   apiSlot = 78
	slotReleaseStatus                    apiSlot = 93
	slotReleaseMemoryInfo                apiSlot = 94
	slotReleaseSession                   apiSlot = 95
	slotReleaseValue                     apiSlot = 96
	slotReleaseTensorTypeAndShapeInfo    apiSlot = 99
	slotReleaseSessionOptions            apiSlot = 100
	slotAddSessionConfigEntry            apiSlot = 130
	slotRunWithBinding                   apiSlot = 133
	slotCreateIoBinding                  apiSlot = 134
	slotReleaseIoBinding                 apiSlot = 135
	slotBindInput                        apiSlot = 136
	slotBindOutput                       apiSlot = 137
	slotBindOutputToDevice               apiSlot = 138
	slotGetBoundOutputValues             apiSlot = 140
	slotGetTensorMemoryInfo              apiSlot = 194
	slotRegisterExecutionProviderLibrary apiSlot = 301
	slotGetEpDevices                     apiSlot = 303
	slotAppendExecutionProviderV2        apiSlot = 304
	slotHardwareDeviceType               apiSlot = 307
	slotHardwareDeviceVendorID           apiSlot = 308
	slotHardwareDeviceDeviceID           apiSlot = 310
	slotEpDeviceEpName                   apiSlot = 312
	slotEpDeviceDevice                   apiSlot = 316
	slotEpDeviceMemoryInfo               apiSlot = 374
	slotGetSharedAllocator               apiSlot = 376
	slotCopyTensors                      apiSlot = 386
	slotCreateAndRegisterAllocator       apiSlot = 144
)

// apiSlotNames names each slot as the header does; the header test reads it.
var apiSlotNames = map[apiSlot]string{
	slotGetErrorMessage:                  "GetErrorMessage",
	slotCreateEnv:                        "CreateEnv",
	slotCreateSessionFromArray:           "CreateSessionFromArray",
	slotCreateSessionOptions:             "CreateSessionOptions",
	slotDisableCpuMemArena:               "DisableCpuMemArena",
	slotSetSessionGraphOptimizationLevel: "SetSessionGraphOptimizationLevel",
	slotSetIntraOpNumThreads:             "SetIntraOpNumThreads",
	slotSetInterOpNumThreads:             "SetInterOpNumThreads",
	slotCreateTensorAsOrtValue:           "CreateTensorAsOrtValue",
	slotCreateTensorWithDataAsOrtValue:   "CreateTensorWithDataAsOrtValue",
	slotGetTensorMutableData:             "GetTensorMutableData",
	slotGetTensorElementType:             "GetTensorElementType",
	slotGetDimensionsCount:               "GetDimensionsCount",
	slotGetDimensions:                    "GetDimensions",
	slotGetTensorTypeAndShape:            "GetTensorTypeAndShape",
	slotCreateCpuMemoryInfo:              "CreateCpuMemoryInfo",
	slotAllocatorFree:                    "AllocatorFree",
	slotGetAllocatorWithDefaultOptions:   "GetAllocatorWithDefaultOptions",
	slotReleaseStatus:                    "ReleaseStatus",
	slotReleaseMemoryInfo:                "ReleaseMemoryInfo",
	slotReleaseSession:                   "ReleaseSession",
	slotReleaseValue:                     "ReleaseValue",
	slotReleaseTensorTypeAndShapeInfo:    "ReleaseTensorTypeAndShapeInfo",
	slotReleaseSessionOptions:            "ReleaseSessionOptions",
	slotAddSessionConfigEntry:            "AddSessionConfigEntry",
	slotRunWithBinding:                   "RunWithBinding",
	slotCreateIoBinding:                  "CreateIoBinding",
	slotReleaseIoBinding:                 "ReleaseIoBinding",
	slotBindInput:                        "BindInput",
	slotBindOutput:                       "BindOutput",
	slotBindOutputToDevice:               "BindOutputToDevice",
	slotGetBoundOutputValues:             "GetBoundOutputValues",
	slotGetTensorMemoryInfo:              "GetTensorMemoryInfo",
	slotRegisterExecutionProviderLibrary: "RegisterExecutionProviderLibrary",
	slotGetEpDevices:                     "GetEpDevices",
	slotAppendExecutionProviderV2:        "SessionOptionsAppendExecutionProvider_V2",
	slotHardwareDeviceType:               "HardwareDevice_Type",
	slotHardwareDeviceVendorID:           "HardwareDevice_VendorId",
	slotHardwareDeviceDeviceID:           "HardwareDevice_DeviceId",
	slotEpDeviceEpName:                   "EpDevice_EpName",
	slotEpDeviceDevice:                   "EpDevice_Device",
	slotEpDeviceMemoryInfo:               "EpDevice_MemoryInfo",
	slotGetSharedAllocator:               "GetSharedAllocator",
	slotCopyTensors:                      "CopyTensors",
	slotCreateAndRegisterAllocator:       "CreateAndRegisterAllocator",
}

// capi holds the OrtApi table of the loaded library and the process environment.
var capi struct {
	once sync.Once
	err  error
	api  C.ltApi
	env  unsafe.Pointer // OrtEnv*, the one onnxruntime_go created (CreateEnv returns it)
	cpu  unsafe.Pointer // OrtMemoryInfo* of Go memory handed to ONNX Runtime
}

// loadAPI binds the C API of the library loaded by Init. It requires a successful Init.
func loadAPI() error {
	capi.once.Do(func() {
		path := C.CString(libPath)
		defer C.free(unsafe.Pointer(path))
		var msg *C.char
		capi.api = C.lt_get_api(path, minAPIVersion, &msg)
		if capi.api == nil {
			capi.err = fmt.Errorf("onnx runtime %s (%s): C API version %d: %s; this project needs ONNX Runtime 1.23 or newer", Version(), libPath, minAPIVersion, C.GoString(msg))
			return
		}
		id := C.CString("ltecli")
		defer C.free(unsafe.Pointer(id))
		const logError = 3 // ORT_LOGGING_LEVEL_ERROR; ignored: the environment exists already
		if err := status(C.lt_CreateEnv(fn(slotCreateEnv), logError, id, &capi.env)); err != nil {
			capi.err = fmt.Errorf("onnx runtime environment: %w", err)
			return
		}
		const arenaAllocator, memTypeDefault = 1, 0
		if err := status(C.lt_CreateCpuMemoryInfo(fn(slotCreateCpuMemoryInfo), arenaAllocator, memTypeDefault, &capi.cpu)); err != nil {
			capi.err = fmt.Errorf("cpu memory info: %w", err)
		}
	})
	return capi.err
}

// ready initialises the library (FindLibrary) and the C API if that has not happened yet.
func ready() error {
	if err := Init(""); err != nil {
		return err
	}
	return loadAPI()
}

// fn returns the function in slot s.
func fn(s apiSlot) unsafe.Pointer { return unsafe.Pointer(C.lt_slot(capi.api, C.int(s))) }

// status turns an OrtStatus into an error and releases it.
func status(st unsafe.Pointer) error {
	if st == nil {
		return nil
	}
	msg := C.GoString(C.lt_GetErrorMessage(fn(slotGetErrorMessage), st))
	C.lt_ReleaseStatus(fn(slotReleaseStatus), st)
	if msg == "" {
		msg = "onnx runtime error without a message"
	}
	return errors.New(msg)
}

// release calls a Release* function of slot s on p (nil is ignored).
func release(s apiSlot, p unsafe.Pointer) {
	if p != nil {
		C.lt_Release(fn(s), p)
	}
}

// cStrings copies names into C memory; free them with freeCStrings.
func cStrings(names []string) []unsafe.Pointer {
	out := make([]unsafe.Pointer, len(names))
	for i, n := range names {
		out[i] = unsafe.Pointer(C.CString(n))
	}
	return out
}

func freeCStrings(s []unsafe.Pointer) {
	for _, p := range s {
		C.free(p)
	}
}

// epDevices returns the environment's OrtEpDevice pointers (owned by the environment).
func epDevices() ([]unsafe.Pointer, error) {
	var list *unsafe.Pointer
	var n C.size_t
	if err := status(C.lt_GetEpDevices(fn(slotGetEpDevices), capi.env, (**unsafe.Pointer)(unsafe.Pointer(&list)), &n)); err != nil {
		return nil, fmt.Errorf("listing execution-provider devices: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return append([]unsafe.Pointer(nil), unsafe.Slice(list, int(n))...), nil
}

func epDeviceName(ep unsafe.Pointer) string {
	return C.GoString(C.lt_EpDevice_EpName(fn(slotEpDeviceEpName), ep))
}

// epDeviceMemory returns the OrtMemoryInfo of ep's default (device) memory.
func epDeviceMemory(ep unsafe.Pointer) unsafe.Pointer {
	const memTypeDefault = 0 // OrtDeviceMemoryType_DEFAULT
	return unsafe.Pointer(C.lt_EpDevice_MemoryInfo(fn(slotEpDeviceMemoryInfo), ep, memTypeDefault))
}

func describeEPDevice(ep unsafe.Pointer) EPDevice {
	hw := unsafe.Pointer(C.lt_EpDevice_Device(fn(slotEpDeviceDevice), ep))
	kind := "cpu"
	switch C.lt_HardwareDevice_Type(fn(slotHardwareDeviceType), hw) {
	case 1:
		kind = "gpu"
	case 2:
		kind = "npu"
	}
	return EPDevice{
		EP:       epDeviceName(ep),
		Hardware: kind,
		VendorID: uint32(C.lt_HardwareDevice_U32(fn(slotHardwareDeviceVendorID), hw)),
		DeviceID: uint32(C.lt_HardwareDevice_U32(fn(slotHardwareDeviceDeviceID), hw)),
	}
}

// sharedAllocator returns the environment's allocator for mem (nil if there is none).
func sharedAllocator(mem unsafe.Pointer) (unsafe.Pointer, error) {
	var alloc unsafe.Pointer
	err := status(C.lt_GetSharedAllocator(fn(slotGetSharedAllocator), capi.env, mem, &alloc))
	return alloc, err
}

func registerEPLibrary(name, path string) error {
	cname, cpath := C.CString(name), C.CString(path)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cpath))
	return status(C.lt_RegisterExecutionProviderLibrary(fn(slotRegisterExecutionProviderLibrary), capi.env, cname, cpath))
}

// createSession builds an OrtSession from model bytes with cfg's options; ep, if not nil, is
// the OrtEpDevice appended (with cfg.ProviderOptions) in front of the default CPU provider.
func createSession(model []byte, cfg SessionConfig, threads int, ep unsafe.Pointer) (unsafe.Pointer, error) {
	var opts unsafe.Pointer
	if err := status(C.lt_CreateSessionOptions(fn(slotCreateSessionOptions), &opts)); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer release(slotReleaseSessionOptions, opts)
	if err := status(C.lt_OptionsInt(fn(slotSetIntraOpNumThreads), opts, C.int(threads))); err != nil {
		return nil, fmt.Errorf("setting %d intra-op threads: %w", threads, err)
	}
	if err := status(C.lt_OptionsInt(fn(slotSetInterOpNumThreads), opts, 1)); err != nil {
		return nil, fmt.Errorf("setting inter-op threads: %w", err)
	}
	if cfg.NoArena {
		if err := status(C.lt_OptionsVoid(fn(slotDisableCpuMemArena), opts)); err != nil {
			return nil, fmt.Errorf("disabling the memory arena: %w", err)
		}
	}
	if err := status(C.lt_OptionsInt(fn(slotSetSessionGraphOptimizationLevel), opts, C.int(cfg.OptLevel))); err != nil {
		return nil, fmt.Errorf("setting graph optimisation level %d: %w", cfg.OptLevel, err)
	}
	if cfg.NoCPUFallback && ep != nil {
		if err := configEntry(opts, "session.disable_cpu_ep_fallback", "1"); err != nil {
			return nil, fmt.Errorf("disabling the CPU fallback: %w", err)
		}
	}
	if ep == nil && !cfg.NoArena {
		// One CPU arena for every session of the process: sessions run one after another, so
		// the process holds the largest graph's working set, not the sum of every session's
		// peak (the engine runs a dozen graphs).
		if err := sharedCPUArena(); err != nil {
			return nil, err
		}
		if err := configEntry(opts, "session.use_env_allocators", "1"); err != nil {
			return nil, fmt.Errorf("sharing the CPU arena: %w", err)
		}
	}
	if !cfg.Spin {
		if err := configEntry(opts, "session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("disabling thread spinning: %w", err)
		}
	}
	if ep != nil {
		keys := make([]string, 0, len(cfg.ProviderOptions))
		for k := range cfg.ProviderOptions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]string, len(keys))
		for i, k := range keys {
			vals[i] = cfg.ProviderOptions[k]
		}
		ck, cv := cStrings(keys), cStrings(vals)
		defer freeCStrings(ck)
		defer freeCStrings(cv)
		var kp, vp **C.char
		if len(keys) > 0 {
			// C memory holding C pointers: pass arrays allocated by C.
			kp, vp = cPointerArray(ck), cPointerArray(cv)
			defer C.free(unsafe.Pointer(kp))
			defer C.free(unsafe.Pointer(vp))
		}
		if err := status(C.lt_AppendEpV2(fn(slotAppendExecutionProviderV2), opts, capi.env, ep, kp, vp, C.size_t(len(keys)))); err != nil {
			return nil, fmt.Errorf("appending the %s execution provider: %w", epDeviceName(ep), err)
		}
	}
	var s unsafe.Pointer
	var data unsafe.Pointer
	if len(model) > 0 {
		data = unsafe.Pointer(&model[0])
	}
	if err := status(C.lt_CreateSessionFromArray(fn(slotCreateSessionFromArray), capi.env, data, C.size_t(len(model)), opts, &s)); err != nil {
		return nil, err
	}
	return s, nil
}

// cPointerArray copies pointers into a C array (free with C.free).
func cPointerArray(p []unsafe.Pointer) **C.char {
	arr := (**C.char)(C.malloc(C.size_t(len(p)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	copy(unsafe.Slice((*unsafe.Pointer)(unsafe.Pointer(arr)), len(p)), p)
	return arr
}

// ortType is the C API's element type of d: the same number (see DType).
func ortType(d DType) C.int { return C.int(d) }

// dtypeOf is the DType of a C API element type.
func dtypeOf(t C.int) (DType, error) {
	if d := DType(t); d.Valid() {
		return d, nil
	}
	return 0, fmt.Errorf("unsupported onnx element type %d", int(t))
}

// shapeArg returns a pointer to shape's first dimension (nil for rank 0).
func shapeArg(shape []int64) *C.int64_t {
	if len(shape) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&shape[0]))
}

// newTensor allocates an uninitialised tensor with alloc.
func newTensor(alloc unsafe.Pointer, dt DType, shape []int64) (unsafe.Pointer, error) {
	var v unsafe.Pointer
	err := status(C.lt_CreateTensorAsOrtValue(fn(slotCreateTensorAsOrtValue), alloc, shapeArg(shape), C.size_t(len(shape)), ortType(dt), &v))
	return v, err
}

// wrapTensor makes a tensor over existing memory described by mem; the memory must outlive it.
func wrapTensor(mem, data unsafe.Pointer, bytes int, dt DType, shape []int64) (unsafe.Pointer, error) {
	var v unsafe.Pointer
	err := status(C.lt_CreateTensorWithDataAsOrtValue(fn(slotCreateTensorWithDataAsOrtValue), mem, data, C.size_t(bytes), shapeArg(shape), C.size_t(len(shape)), ortType(dt), &v))
	return v, err
}

// tensorData returns the address of v's first element (device memory for device tensors).
func tensorData(v unsafe.Pointer) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := status(C.lt_GetTensorMutableData(fn(slotGetTensorMutableData), v, &p))
	return p, err
}

// tensorMemory returns v's OrtMemoryInfo (owned by v).
func tensorMemory(v unsafe.Pointer) (unsafe.Pointer, error) {
	var m unsafe.Pointer
	err := status(C.lt_GetTensorMemoryInfo(fn(slotGetTensorMemoryInfo), v, &m))
	return m, err
}

// tensorInfo returns v's element type and shape.
func tensorInfo(v unsafe.Pointer) (DType, []int64, error) {
	const maxRank = 16
	var dims [maxRank]C.int64_t
	var rank C.size_t
	var et C.int
	if err := status(C.lt_TensorInfo(capi.api, C.int(slotGetTensorTypeAndShape), C.int(slotGetTensorElementType), C.int(slotGetDimensionsCount),
		C.int(slotGetDimensions), C.int(slotReleaseTensorTypeAndShapeInfo), v, &et, &dims[0], maxRank, &rank)); err != nil {
		return 0, nil, err
	}
	if rank > maxRank {
		return 0, nil, fmt.Errorf("tensor of rank %d (at most %d supported)", rank, maxRank)
	}
	dt, err := dtypeOf(et)
	if err != nil {
		return 0, nil, err
	}
	shape := make([]int64, rank)
	for i := range shape {
		shape[i] = int64(dims[i])
	}
	return dt, shape, nil
}

// copyTensor copies src into dst (same type and size) between any two devices, synchronously.
func copyTensor(src, dst unsafe.Pointer) error {
	return status(C.lt_CopyTensor(fn(slotCopyTensors), capi.env, src, dst))
}

// runBound runs session s with IoBinding. in and out are OrtValues in the order of the C
// strings inNames and outNames; a nil out slot is bound to device memory outMem, where ONNX
// Runtime allocates it. It returns the allocated values for the nil slots (nil elsewhere).
func runBound(s unsafe.Pointer, inNames, outNames []unsafe.Pointer, in, out []unsafe.Pointer, outMem unsafe.Pointer) ([]unsafe.Pointer, error) {
	var b unsafe.Pointer
	if err := status(C.lt_CreateIoBinding(fn(slotCreateIoBinding), s, &b)); err != nil {
		return nil, fmt.Errorf("io binding: %w", err)
	}
	defer release(slotReleaseIoBinding, b)
	for i, v := range in {
		if err := status(C.lt_Bind(fn(slotBindInput), b, (*C.char)(inNames[i]), v)); err != nil {
			return nil, fmt.Errorf("binding input %q: %w", C.GoString((*C.char)(inNames[i])), err)
		}
	}
	for i, v := range out {
		var err error
		if v == nil {
			err = status(C.lt_Bind(fn(slotBindOutputToDevice), b, (*C.char)(outNames[i]), outMem))
		} else {
			err = status(C.lt_Bind(fn(slotBindOutput), b, (*C.char)(outNames[i]), v))
		}
		if err != nil {
			return nil, fmt.Errorf("binding output %q: %w", C.GoString((*C.char)(outNames[i])), err)
		}
	}
	if err := status(C.lt_RunWithBinding(fn(slotRunWithBinding), s, b)); err != nil {
		return nil, err
	}
	var alloc unsafe.Pointer
	if err := status(C.lt_GetAllocatorWithDefaultOptions(fn(slotGetAllocatorWithDefaultOptions), &alloc)); err != nil {
		return nil, fmt.Errorf("cpu allocator: %w", err)
	}
	// C memory for the results: Go memory may not hold the C pointers ONNX Runtime writes.
	got := (*unsafe.Pointer)(C.calloc(C.size_t(max(1, len(out))), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(got))
	var n C.size_t
	if err := status(C.lt_BoundOutputs(capi.api, C.int(slotGetBoundOutputValues), C.int(slotAllocatorFree), b, alloc, (*unsafe.Pointer)(unsafe.Pointer(got)), C.size_t(len(out)), &n)); err != nil {
		return nil, fmt.Errorf("reading outputs: %w", err)
	}
	vals := unsafe.Slice(got, len(out))
	if int(n) != len(out) {
		for _, v := range vals[:min(int(n), len(out))] {
			release(slotReleaseValue, v)
		}
		return nil, fmt.Errorf("onnx runtime returned %d outputs, want %d", n, len(out))
	}
	result := make([]unsafe.Pointer, len(out))
	for i, v := range vals {
		if out[i] == nil {
			result[i] = v
		} else {
			release(slotReleaseValue, v) // a second reference to the caller's value
		}
	}
	return result, nil
}

// configEntry sets a session configuration entry (ONNX Runtime's session option keys).
func configEntry(opts unsafe.Pointer, key, value string) error {
	k, v := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(k))
	defer C.free(unsafe.Pointer(v))
	return status(C.lt_AddSessionConfigEntry(fn(slotAddSessionConfigEntry), opts, k, v))
}

// loadGlobal loads the shared library at path with RTLD_GLOBAL for the rest of the process.
func loadGlobal(path string) error {
	c := C.CString(path)
	defer C.free(unsafe.Pointer(c))
	if msg := C.lt_load_global(c); msg != nil {
		return errors.New(C.GoString(msg))
	}
	return nil
}

var (
	arenaOnce sync.Once
	arenaErr  error
)

// sharedCPUArena registers, once, an arena allocator for CPU memory in the environment, which
// sessions with session.use_env_allocators share.
func sharedCPUArena() error {
	arenaOnce.Do(func() {
		if err := status(C.lt_CreateAndRegisterAllocator(fn(slotCreateAndRegisterAllocator), capi.env, capi.cpu, nil)); err != nil {
			arenaErr = fmt.Errorf("registering the shared CPU arena: %w", err)
		}
	})
	return arenaErr
}
