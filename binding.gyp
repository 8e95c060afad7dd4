{
  # The node-gyp build of the same addon the cmake-js build (CMakeLists.txt) makes: the sources
  # come from native/sources.json and LibTorch from scripts/find-libtorch.js, so the two builds
  # cannot drift apart. package.json sets "gypfile": false so npm never runs this on its own;
  # `npm run build:gyp` does. Like CMakeLists.txt it compiles a unity build: batches of sources,
  # one translation unit each, written to build-unity/ by scripts/unity-sources.js (IMLM_UNITY=0
  # compiles file by file). The LibTorch headers are then parsed once per batch, not once per
  # file, so this build does without a precompiled header.
  "targets": [
    {
      "target_name": "imlm",
      "sources": [
        "<!@(node scripts/unity-sources.js)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node scripts/find-libtorch.js --gyp include_dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "IMLM_BUILD_SYSTEM=\"node-gyp\"",
        "<!@(node scripts/find-libtorch.js --gyp defines)"
      ],
      "libraries": [
        "-fopenmp",
        "<!@(node scripts/find-libtorch.js --gyp libraries)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fvisibility=hidden", "-Wno-unused-parameter", "-fno-trapping-math", "-fopenmp"]
    }
  ]
}
