//! A harness for the WASI tests: a module that imports every `wasi_snapshot_preview1`
//! function and exports a Wasm wrapper of each under the same name, so that a test calls the
//! host functions with a real Wasm caller (and thus the module's memory), puts arguments in
//! that memory, and reads results back.
#![allow(dead_code)]

use tierwasm::wasi::{self, WasiCtx};
use tierwasm::{Engine, Error, Instance, Linker, Memory, Module, Store, Val};

/// Every function and its parameters (`i` for i32, `I` for i64); all return an errno but
/// `proc_exit`.
const FUNCTIONS: &[(&str, &str)] = &[
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_advise", "iIIi"),
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

pub const ESUCCESS: i32 = 0;
pub const EACCES: i32 = 2;
pub const EBADF: i32 = 8;
pub const EEXIST: i32 = 20;
pub const EFAULT: i32 = 21;
pub const EILSEQ: i32 = 25;
pub const EINVAL: i32 = 28;
pub const EISDIR: i32 = 31;
pub const ELOOP: i32 = 32;
pub const ENAMETOOLONG: i32 = 37;
pub const ENOENT: i32 = 44;
pub const ENOSYS: i32 = 52;
pub const ENOTDIR: i32 = 54;
pub const ENOTEMPTY: i32 = 55;
pub const ENOTSUP: i32 = 58;
pub const EPERM: i32 = 63;
pub const ESPIPE: i32 = 70;
pub const ENOTCAPABLE: i32 = 76;

pub const RIGHT_FD_READ: i64 = 1 << 1;
pub const RIGHT_FD_SEEK: i64 = 1 << 2;
pub const RIGHT_FD_TELL: i64 = 1 << 5;
pub const RIGHT_FD_WRITE: i64 = 1 << 6;
pub const RIGHT_FD_READDIR: i64 = 1 << 14;
pub const RIGHT_FD_FILESTAT_SET_TIMES: i64 = 1 << 23;
pub const RIGHTS_ALL: i64 = (1 << 30) - 1;

pub const OFLAGS_CREAT: i64 = 1;
pub const OFLAGS_DIRECTORY: i64 = 2;
pub const OFLAGS_EXCL: i64 = 4;
pub const OFLAGS_TRUNC: i64 = 8;
pub const FDFLAGS_APPEND: i64 = 1;
pub const LOOKUP_SYMLINK_FOLLOW: i64 = 1;

pub const FILETYPE_UNKNOWN: u8 = 0;
pub const FILETYPE_DIRECTORY: u8 = 3;
pub const FILETYPE_REGULAR_FILE: u8 = 4;
pub const FILETYPE_SYMBOLIC_LINK: u8 = 7;

/// The first preopened directory's descriptor.
pub const PREOPEN: i64 = 3;

/// Where [`Guest::alloc`] starts handing out memory; below it is free for fixed layouts.
const HEAP_START: u32 = 4096;
/// The module's memory: two pages.
pub const MEMORY_SIZE: u32 = 2 * 65536;

/// The text of the harness module.
fn module_text() -> String {
    let mut text = String::from("(module\n");
    for (name, params) in FUNCTIONS {
        let params: String = params
            .chars()
            .map(|c| if c == 'I' { " i64" } else { " i32" })
            .collect();
        text += &format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param{params}) (result i32)))\n"
        );
    }
    text += "(import \"wasi_snapshot_preview1\" \"proc_exit\" (func $proc_exit (param i32)))\n";
    text += "(memory (export \"memory\") 2)\n";
    for (name, params) in FUNCTIONS {
        let types: String = params
            .chars()
            .map(|c| if c == 'I' { " i64" } else { " i32" })
            .collect();
        let args: String = (0..params.len())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        text += &format!(
            "(func (export \"{name}\") (param{types}) (result i32) (call ${name}{args}))\n"
        );
    }
    text += "(func (export \"proc_exit\") (param i32) (call $proc_exit (local.get 0)))\n)";
    text
}

/// An instance of the harness module with a WASI context.
pub struct Guest {
    pub store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
    next: u32,
}

impl Guest {
    pub fn new(ctx: WasiCtx) -> Guest {
        let engine = Engine::default();
        let wasm = wat::parse_str(module_text()).expect("the harness module parses");
        let module = Module::new(&engine, wasm).expect("the harness module compiles");
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).expect("WASI links");
        let mut store = Store::new(&engine, ctx);
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("the harness module instantiates");
        let memory = instance
            .get_memory(&store, "memory")
            .expect("the harness exports its memory");
        Guest {
            store,
            instance,
            memory,
            next: HEAP_START,
        }
    }

    /// Calls WASI function `name` from Wasm with `args` (converted to its parameter types)
    /// and returns its errno, or the error that ended the call.
    pub fn try_call(&mut self, name: &str, args: &[i64]) -> Result<i32, Error> {
        let (_, params) = FUNCTIONS
            .iter()
            .find(|(function, _)| *function == name)
            .unwrap_or_else(|| panic!("no WASI function {name} in the harness"));
        assert_eq!(params.len(), args.len(), "arguments of {name}");
        let args: Vec<Val> = params
            .chars()
            .zip(args)
            .map(|(ty, arg)| match ty {
                'I' => Val::I64(*arg),
                _ => Val::I32(*arg as i32),
            })
            .collect();
        let func = self.instance.get_func(&self.store, name).unwrap();
        let mut results = [Val::I32(0)];
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results[0].i32().unwrap())
    }

    /// [`try_call`](Self::try_call), for a call that returns.
    #[track_caller]
    pub fn call(&mut self, name: &str, args: &[i64]) -> i32 {
        self.try_call(name, args)
            .unwrap_or_else(|err| panic!("{name} failed: {err}"))
    }

    /// Calls `proc_exit(status)`: its error.
    pub fn proc_exit(&mut self, status: i32) -> Error {
        let func = self.instance.get_func(&self.store, "proc_exit").unwrap();
        func.call(&mut self.store, &[Val::I32(status)], &mut [])
            .expect_err("proc_exit does not return")
    }

    /// `len` bytes of zeroed guest memory, 8-aligned.
    pub fn alloc(&mut self, len: u32) -> u32 {
        let ptr = self.next;
        self.next = (self.next + len + 7) & !7;
        assert!(self.next <= MEMORY_SIZE, "the harness memory is full");
        self.write(ptr, &vec![0; len as usize]);
        ptr
    }

    /// Copies `bytes` into fresh guest memory: their address and length.
    pub fn bytes(&mut self, bytes: &[u8]) -> (i64, i64) {
        let ptr = self.alloc(bytes.len() as u32);
        self.write(ptr, bytes);
        (ptr.into(), bytes.len() as i64)
    }

    /// A string argument (pointer, length).
    pub fn str(&mut self, text: &str) -> (i64, i64) {
        self.bytes(text.as_bytes())
    }

    /// An iovec array over fresh buffers of the given contents: its address and count, and
    /// the buffers' addresses.
    pub fn iovecs(&mut self, buffers: &[&[u8]]) -> (i64, i64, Vec<u32>) {
        let array = self.alloc(8 * buffers.len() as u32);
        let mut pointers = Vec::new();
        for (i, buffer) in buffers.iter().enumerate() {
            let (ptr, len) = self.bytes(buffer);
            self.write_u32(array + 8 * i as u32, ptr as u32);
            self.write_u32(array + 8 * i as u32 + 4, len as u32);
            pointers.push(ptr as u32);
        }
        (array.into(), buffers.len() as i64, pointers)
    }

    pub fn write(&mut self, ptr: u32, bytes: &[u8]) {
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .unwrap();
    }

    pub fn write_u32(&mut self, ptr: u32, value: u32) {
        self.write(ptr, &value.to_le_bytes());
    }

    pub fn read(&self, ptr: u32, len: u32) -> Vec<u8> {
        let mut buffer = vec![0; len as usize];
        self.memory
            .read(&self.store, ptr as usize, &mut buffer)
            .unwrap();
        buffer
    }

    pub fn read_u8(&self, ptr: u32) -> u8 {
        self.read(ptr, 1)[0]
    }

    pub fn read_u16(&self, ptr: u32) -> u16 {
        u16::from_le_bytes(self.read(ptr, 2).try_into().unwrap())
    }

    pub fn read_u32(&self, ptr: u32) -> u32 {
        u32::from_le_bytes(self.read(ptr, 4).try_into().unwrap())
    }

    pub fn read_u64(&self, ptr: u32) -> u64 {
        u64::from_le_bytes(self.read(ptr, 8).try_into().unwrap())
    }

    // Conveniences over the common calls, asserting success.

    /// `path_open` beneath `dir`: the new descriptor, or the errno.
    pub fn open(
        &mut self,
        dir: i64,
        lookupflags: i64,
        path: &str,
        oflags: i64,
        rights: i64,
        fdflags: i64,
    ) -> Result<i64, i32> {
        let (path, len) = self.str(path);
        let out = self.alloc(4);
        match self.call(
            "path_open",
            &[
                dir,
                lookupflags,
                path,
                len,
                oflags,
                rights,
                RIGHTS_ALL,
                fdflags,
                out.into(),
            ],
        ) {
            ESUCCESS => Ok(self.read_u32(out).into()),
            errno => Err(errno),
        }
    }

    /// `fd_write` of `data` in one buffer: the bytes written, or the errno.
    pub fn write_fd(&mut self, fd: i64, data: &[u8]) -> Result<u32, i32> {
        let (iovs, count, _) = self.iovecs(&[data]);
        let out = self.alloc(4);
        match self.call("fd_write", &[fd, iovs, count, out.into()]) {
            ESUCCESS => Ok(self.read_u32(out)),
            errno => Err(errno),
        }
    }

    /// `fd_read` of up to `len` bytes into one buffer: the bytes read, or the errno.
    pub fn read_fd(&mut self, fd: i64, len: usize) -> Result<Vec<u8>, i32> {
        let zeros = vec![0; len];
        let (iovs, count, pointers) = self.iovecs(&[&zeros]);
        let out = self.alloc(4);
        match self.call("fd_read", &[fd, iovs, count, out.into()]) {
            ESUCCESS => Ok(self.read(pointers[0], self.read_u32(out))),
            errno => Err(errno),
        }
    }

    /// `fd_seek`: the new offset, or the errno.
    pub fn seek(&mut self, fd: i64, offset: i64, whence: i64) -> Result<u64, i32> {
        let out = self.alloc(8);
        match self.call("fd_seek", &[fd, offset, whence, out.into()]) {
            ESUCCESS => Ok(self.read_u64(out)),
            errno => Err(errno),
        }
    }

    /// Calls a function taking a descriptor and a path (`path_create_directory`,
    /// `path_unlink_file`, `path_remove_directory`).
    pub fn path_call(&mut self, name: &str, dir: i64, path: &str) -> i32 {
        let (path, len) = self.str(path);
        self.call(name, &[dir, path, len])
    }

    /// `path_filestat_get`: the 64-byte `filestat`, or the errno.
    pub fn stat(&mut self, dir: i64, lookupflags: i64, path: &str) -> Result<Vec<u8>, i32> {
        let (path, len) = self.str(path);
        let buf = self.alloc(64);
        match self.call(
            "path_filestat_get",
            &[dir, lookupflags, path, len, buf.into()],
        ) {
            ESUCCESS => Ok(self.read(buf, 64)),
            errno => Err(errno),
        }
    }
}

/// A little-endian u64 from `bytes` at `at`.
pub fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}
