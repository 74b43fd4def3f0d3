// IscsiServer: the iSCSI transport as the daemon starts it — portals (listening sockets),
// the per-reactor sets of connections, the session registry and the catalog of targets.
//
// Threads: constructed and driven from the daemon's main thread. A portal's listener runs
// on reactor 0; each accepted socket is handed round-robin to a reactor, where its
// Connection lives until it is finished. ServerShared is reached from every reactor: its
// catalog and registry take short locks (login and logout only, never per command).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <functional>
#include <future>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "reactor/reactor.h"
#include "scsi/io_stats.h"
#include "transport/iscsi/catalog.h"
#include "transport/iscsi/params.h"

namespace stgt::reactor {
class ReactorGroup;
}

namespace stgt::iscsi {

class Connection;

struct IscsiSettings {
  TargetLimits limits;
  uint32_t max_tasks_per_session = 128;  // the CmdSN window (RFC 7143 4.2.2.1)
  // Write data one session may hold in buffers; a write past it gets TASK SET FULL (SAM-5
  // 5.3.1) instead of memory, its data drained unread.
  uint64_t session_write_buffer = uint64_t{256} << 20;
  // Sessions plus logins past the naming stage at once; one more login gets 0x0302 "out of
  // resources" (RFC 7143 11.13.5), so a flood of sessions cannot exhaust memory.
  uint32_t max_sessions = 4096;
  // Refusals that depend on the target name look like a failed CHAP login (LoginMachine).
  bool conceal_targets = true;
  std::chrono::seconds login_timeout{15};
  std::chrono::seconds nop_interval{10};  // ping an idle connection after this long
  std::chrono::seconds nop_timeout{30};   // drop it if the ping is not answered by then
  // io_uring: the rest of a large data segment is received straight into the command's
  // buffers (Reactor::receive_direct) instead of copied out of the reactor's buffers. Off:
  // the pause and restart of the multishot receive cost 0.5-0.9 io_uring_enter more per
  // 128 KiB write, and the CPU it saved was not clearly above the noise (docs/performance.md,
  // "Direct receive on io_uring"). stgtd --direct-receive=on turns it on.
  bool direct_receive = false;
};

// Sessions by TSIH and by (initiator, ISID, target, TPGT) for session reinstatement
// (RFC 7143 6.3.5: a session is identified by its initiator port and its target portal
// group; the same ISID through another portal group is another session). Login path only.
class SessionRegistry {
 public:
  struct Entry {
    uint16_t tsih = 0;
    reactor::Reactor* reactor = nullptr;
    std::weak_ptr<Connection> connection;
  };
  // Registers a new session and returns its TSIH; an older session of the same initiator
  // port on the same target is returned in `replaced` for the caller to close.
  uint16_t add(const std::string& initiator, uint64_t isid, const std::string& target,
               uint16_t tpgt, reactor::Reactor* r, std::weak_ptr<Connection> c,
               std::optional<Entry>& replaced);
  void remove(uint16_t tsih);
  bool exists(uint16_t tsih) const;
  size_t size() const;

 private:
  using Key = std::tuple<std::string, uint64_t, std::string, uint16_t>;
  mutable std::mutex mu_;
  uint16_t next_tsih_ = 1;
  std::map<Key, Entry> by_port_;
  std::unordered_map<uint16_t, Key> by_tsih_;
};

// What the control plane sees of one session (stgtadm session list).
struct SessionInfo {
  uint16_t tsih = 0;
  uint64_t isid = 0;
  uint16_t cid = 0;
  std::string initiator;
  std::string initiator_alias;
  std::string target;  // empty for discovery sessions
  bool discovery = false;
  std::string peer;   // initiator address:port
  std::string local;  // portal address:port
  uint16_t portal_group_tag = 0;
  unsigned reactor = 0;
  double age_seconds = 0;
  SessionParams session;
  ConnectionParams connection;
  uint32_t tasks = 0;  // commands in the task table now
  scsi::IoStats stats;  // the session's commands so far (its I_T nexus's counters)
};

struct ServerShared {
  CatalogHandle catalog;
  IscsiSettings settings;
  SessionRegistry sessions;
  std::atomic<uint64_t> next_connection_id{1};
  // Connections holding a session slot (IscsiSettings::max_sessions), from every reactor.
  std::atomic<uint32_t> session_slots{0};
  // Per-reactor connection sets, indexed by reactor id; each touched only on its reactor.
  std::vector<std::unordered_map<uint64_t, std::shared_ptr<Connection>>> connections;
};

class IscsiServer {
 public:
  IscsiServer(reactor::ReactorGroup& reactors, IscsiSettings settings);
  ~IscsiServer();

  // Binds a portal ("127.0.0.1:3260", "[::1]:3260"); connections are accepted only after
  // start(), so nobody logs in before the catalog is published. After start() (a live
  // change, control thread) the new portal accepts at once. Errors are one sentence
  // ("cannot bind 127.0.0.1:3260: Address already in use").
  base::Result<void, std::string> add_portal(const std::string& address, uint16_t group_tag);
  // Stops accepting on the portal bound at `address` and closes its socket (control thread).
  // Connections that came through it are left alone. False if no such portal.
  bool remove_portal(const std::string& address);
  // Starts accepting on every bound portal (on reactor 0).
  void start();
  // Reactors connections are spread over (LU statistics keep one shard per reactor).
  unsigned reactor_count() const;
  // Reactor `i` (< reactor_count()): work the control plane starts on a reactor, such as a
  // sanitize resumed at start-up, is posted to it.
  reactor::Reactor& reactor_at(unsigned i);
  // The addresses actually bound (with the real port when 0 was asked for).
  std::vector<PortalInfo> portals() const;
  void publish(std::shared_ptr<const Catalog> catalog);
  std::shared_ptr<const Catalog> catalog() const { return shared_->catalog.get(); }

  // Control plane (blocking; call from the control thread, never from a reactor).
  // Every session in full feature phase, from every reactor.
  std::vector<SessionInfo> sessions();
  // Closes the sessions `select` picks: with `logout_after` > 0 the initiator is first asked
  // to log out (Async Message, RFC 7143 11.9.1 AsyncEvent 1) and dropped if it has not done
  // so within that many seconds; with 0 the connection is dropped at once. Returns how many.
  size_t close_sessions(const std::function<bool(const SessionInfo&)>& select,
                        std::chrono::seconds logout_after, const std::string& why);
  // Stops accepting and closes every connection; waits (bounded) for them to finish.
  void shutdown();

 private:
  struct Listener;
  void accept_one(Listener& l, base::UniqueFd fd, std::string peer);

  reactor::ReactorGroup& reactors_;
  std::shared_ptr<ServerShared> shared_;
  void start_listener(Listener* l);

  mutable std::mutex listeners_mu_;  // listeners_ (control thread and main thread; not reactors)
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::atomic<unsigned> next_reactor_{0};
  bool started_ = false;  // under listeners_mu_
  bool shut_down_ = false;
};

}  // namespace stgt::iscsi
