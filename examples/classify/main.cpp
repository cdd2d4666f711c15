// classify: a classifier for the rows of a CSV file.
//   classify train --csv FILE --label-column K --model OUT [--out DIR] [...]
//   classify predict --model FILE --csv IN --output OUT
//   classify export-torch --model FILE --out PREFIX   (for PyTorch)
//   classify export --model FILE --onnx OUT           (for ONNX Runtime)
// Exit status: 0 done, 1 an error in the data or files, 2 a bad command line.
#include "classes.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const char* usage =
      "usage: classify train --csv FILE --label-column K --model OUT [--out DIR] [flags]\n"
      "       classify predict --model FILE --csv IN --output OUT [flags]\n"
      "       classify export-torch --model FILE --out PREFIX\n"
      "       classify export --model FILE --onnx OUT\n"
      "       classify train --help | classify predict --help | classify export --help\n";
  if (argc < 2) {
    std::fprintf(stderr, "classify: a command is needed, train or predict (usage: classify train --help)\n");
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  try {
    if (command == "train") return classify::cmd_train(rest);
    if (command == "predict") return classify::cmd_predict(rest);
    if (command == "export-torch") return classify::cmd_export_torch(rest);
    if (command == "export") return classify::cmd_export(rest);
    if (command == "--help" || command == "help") {
      std::printf("%s", usage);
      return 0;
    }
    std::fprintf(stderr, "classify: unknown command '%s' (the commands: train, predict, export-torch, export)\n",
                 command.c_str());
    return 2;
  } catch (const classify::UsageError& e) {
    std::fprintf(stderr, "classify %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
