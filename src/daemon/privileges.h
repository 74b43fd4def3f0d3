// Dropping root after start-up ([daemon] user / group): stgtd binds its portals, opens its
// stores, restores persistent reservations and creates its control socket as the user that
// started it, then becomes `user`:`group` for the rest of its life.
//
// Called once, from the main thread, before the portals accept. setgroups/setgid/setuid apply
// to every thread of the process (glibc broadcasts them), so the reactors already running
// change identity with it. Blocks only on the user database (NSS).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace stgt::daemon {

struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user_name;  // empty for a numeric uid without a passwd entry
};

// Resolves names or numeric ids. nullopt when `user` is empty (no drop). `group` empty: the
// user's primary group (required for a numeric uid that has no passwd entry).
base::Result<std::optional<RunAs>, std::string> resolve_run_as(const std::string& user,
                                                                const std::string& group);

// Gives `paths` (the daemon's own state: the directory of APTPL and sanitize records, the
// control socket) to the new identity, then sets the supplementary groups (the user's, or
// none), the gid and the uid, and checks that root cannot be regained.
base::Result<void, std::string> drop_privileges(const RunAs& who,
                                                const std::vector<std::string>& paths);

}  // namespace stgt::daemon
