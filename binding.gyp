{
  "targets": [
    {
      "target_name": "rempart_fs",
      "sources": ["native/fs-native.c"],
      "cflags": ["-Wall", "-Wextra"]
    }
  ]
}
