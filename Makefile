# Makefile - builds build/panoptic (C11, no CUDA link), the CPU executor of the
# post-processing kernels, and, when nvcc is found, build/libpanoptic_cuda.so
# which build/panoptic loads at run time only when a CUDA device is asked for.
#
#   make            build everything          make test    build + run all tests
#   make asan       ASan+UBSan build, tests   make fuzz    libFuzzer targets (FUZZ_SECONDS each)
#   make bench      benchmarks -> bench/      make clean
#
# BUILD selects the output tree so sanitizer builds never mix with normal ones.

BUILD     ?= build
CC        ?= gcc
CXX       ?= g++
NVCC      ?= $(shell command -v nvcc 2>/dev/null)
CUDA_HOME ?= /usr/local/cuda
FUZZ_SECONDS ?= 60

SANITIZERS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_FLAGS := $(if $(SAN),$(SANITIZERS))
OPT       := $(if $(SAN),-O1 -g,-O2 -g)
WARN      := -Wall -Wextra -Werror
DEPFLAGS   = -MMD -MP
CPPFLAGS  := -Isrc -Ikernels -D_GNU_SOURCE
CFLAGS    := -std=c11 $(OPT) $(WARN) -fopenmp -fPIC $(SAN_FLAGS)
# The kernels are CUDA C++; for the CPU executor the host compiler builds the
# very same files as C++ (see kernels/pdl_kernel.h). -fno-trapping-math changes
# no result; it only lets GCC vectorise loops with float selects (clamps).
CXXFLAGS  := -std=c++17 $(OPT) $(WARN) -fopenmp -fno-trapping-math -fPIC -fno-exceptions -fno-rtti -x c++ \
             $(SAN_FLAGS)
LDLIBS    := -lpthread -lpng16 -ldeflate -ljpeg -ljansson -lexif -ldnnl -ldl -lm -lstdc++
LDFLAGS   := -fopenmp -rdynamic $(SAN_FLAGS)

LIB_SRC    := $(wildcard src/*.c)
CLI_SRC    := $(wildcard cli/*.c)
KERNEL_SRC := $(wildcard kernels/*.cu)
TEST_SRC   := $(wildcard tests/test_*.c) $(wildcard tests/support/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
CUDA_HOST_SRC := $(wildcard src/cuda/*.c)

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(KERNEL_SRC:%.cu=$(BUILD)/obj/cpu/%.o)
# On x86-64 the post-processing kernels are built a second time for AVX2 and
# chosen at run time where the CPU has it (pdl_cpu_pp_executor). No FMA
# contraction, so both builds give the same bits as each other and the GPU.
ifeq ($(shell uname -m),x86_64)
LIB_OBJ    += $(patsubst %.cu,$(BUILD)/obj/cpu_avx2/%.o,$(wildcard kernels/pp_*.cu))
CPPFLAGS   += -DPDL_CPU_AVX2_BUILT
endif
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ   := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

LIB      := $(BUILD)/libpanoptic.a
BIN      := $(BUILD)/panoptic
TEST_BIN := $(BUILD)/tests/run_tests
CUDA_LIB := $(BUILD)/libpanoptic_cuda.so
CUDA_TEST_BIN := $(BUILD)/tests/run_cuda_host_tests

ALL := $(BIN) $(TEST_BIN)
# The host-side CUDA tests also run under the sanitizers; the nvcc-built
# library does not (ASan would have to be loaded into the CUDA runtime).
ifneq ($(NVCC),)
ALL += $(CUDA_TEST_BIN)
ifeq ($(SAN),)
ALL += $(CUDA_LIB)
endif
endif

.PHONY: all test test-gpu asan fuzz bench clean
all: $(ALL)

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) -lcriterion $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/cpu/%.o: %.cu
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/cpu_avx2/%.o: %.cu
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) -DPDL_CPU_AVX2 $(CXXFLAGS) -mavx2 -ffp-contract=off $(DEPFLAGS) -c $< -o $@

# ---- CUDA backend (shared object, loaded with dlopen) ----------------------
NVCC_ARCH  := -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
              -gencode arch=compute_90,code=compute_90
NVCCFLAGS  := -std=c++17 -O3 $(NVCC_ARCH) -Xcompiler -fPIC,-Wall,-Wextra,-Werror -Werror all-warnings
CUDA_OBJ   := $(KERNEL_SRC:%.cu=$(BUILD)/obj/cuda/%.o) $(CUDA_HOST_SRC:%.c=$(BUILD)/obj/cuda/%.o)

$(BUILD)/obj/cuda/kernels/%.o: kernels/%.cu
	@mkdir -p $(@D)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/cuda/src/cuda/%.o: src/cuda/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(CUDA_HOME)/include $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# Symbols of the library proper (pdl_fail, ...) resolve against the executable
# that loads us (linked with -rdynamic), so nothing is duplicated here.
$(CUDA_LIB): $(CUDA_OBJ)
	$(NVCC) -shared $(NVCC_ARCH) -o $@ $^ -L$(CUDA_HOME)/lib64 -lcudnn -lcublasLt -lcublas -lcudart_static \
	    -Xlinker -rpath,$(CUDA_HOME)/lib64

# The cuDNN descriptor tests link cuDNN, so they are a binary of their own,
# with the src/cuda files that need no kernels (cudnn_*.c, cuda_check.c,
# cuda_weight_pack.c, cuda_gemm_choice.c, cublas_conv1x1.c).
CUDA_TEST_OBJ := $(patsubst %.c,$(BUILD)/obj/cuda/%.o,$(wildcard tests/cuda/test_*.c) \
                   $(wildcard tests/cuda/support/*.c) \
                   $(wildcard src/cuda/cudnn_*.c) src/cuda/cuda_check.c src/cuda/cuda_weight_pack.c \
                   src/cuda/cuda_gemm_choice.c src/cuda/cublas_conv1x1.c)
$(BUILD)/obj/cuda/tests/cuda/%.o: tests/cuda/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Isrc/cuda -I$(CUDA_HOME)/include $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(CUDA_TEST_BIN): $(CUDA_TEST_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion -L$(CUDA_HOME)/lib64 -lcudnn -lcublasLt -lcublas -lcudart \
	    -Wl,-rpath,$(CUDA_HOME)/lib64 $(LDLIBS)

# ---- tests -------------------------------------------------------------------
test: all
	$(TEST_BIN) --jobs 2
	$(if $(filter $(CUDA_TEST_BIN),$(ALL)),$(CUDA_TEST_BIN) --jobs 2)
	@for t in tests/cli/*.sh; do [ -e "$$t" ] || continue; echo "== $$t"; \
	    BIN=$(BIN) bash "$$t" || exit 1; done

test-gpu: all
	bash tests/gpu/run.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan SAN=1 test

# ---- fuzzing (clang + libFuzzer) ---------------------------------------------
# The library goes into an archive so each target links only the objects it
# uses (a loose object list drags in e.g. backend_loader.c and its references).
FUZZ_LIB_SRC := $(filter-out src/backend_%.c,$(LIB_SRC))
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fopenmp
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
build-fuzz/obj/%.o: %.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@
build-fuzz/libfuzz.a: $(FUZZ_LIB_SRC:%.c=build-fuzz/obj/%.o)
	$(AR) rcs $@ $^
build-fuzz/%: tests/fuzz/%.c build-fuzz/libfuzz.a
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libfuzz.a $(LDLIBS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do name=$$(basename $$f); mkdir -p build-fuzz/corpus-$$name; \
	    echo "== $$name for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus-$$name \
	        tests/fuzz/seeds/$${name#fuzz_} || exit 1; done

BENCH_BIN := $(BUILD)/bench/bench_network
$(BENCH_BIN): bench/bench_network.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench: all $(BENCH_BIN)
	bash bench/run.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
