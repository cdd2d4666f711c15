// Includes the whole library and uses none of it: the object file must stay
// as small as an Eigen program's (tests/include_cost/CMakeLists.txt).
#include <plexus/plexus.hpp>

int main() { return 0; }
