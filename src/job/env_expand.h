// ${VAR} expansion for the few job-file values that may come from the
// environment (the endpoint and header values).
#ifndef CHATBATCH_ENV_EXPAND_H_
#define CHATBATCH_ENV_EXPAND_H_

#include <string>
#include <string_view>

#include "chatbatch/error.h"
#include "chatbatch/job.h"

namespace chatbatch {

// Expands "text" using "env":
//   ${NAME}          the variable's value; an error if it is unset
//   ${NAME:-default} the value, or "default" (taken literally up to the
//                    first '}') when the variable is unset or empty
//   $$               a literal '$'
// NAME is [A-Za-z_][A-Za-z0-9_]*. Any other '$' is kept as is ("$HOME" is
// not expanded: only the braced form is).
//
// On failure the Error (code kJob) carries a message without a location,
// for the caller to prefix. It names the variable but never quotes "text"
// or any value, since both may hold secrets.
Result<std::string> ExpandEnv(std::string_view text, const EnvLookup& env);

}  // namespace chatbatch

#endif  // CHATBATCH_ENV_EXPAND_H_
