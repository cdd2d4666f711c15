// The commands of matrix_inverse, one file each: each takes the arguments
// after its name and returns the exit status (usage errors are thrown as
// usage_error, other failures as exceptions).
#pragma once

#include <string>
#include <vector>

namespace mi {

int cmd_question(const std::vector<std::string>& argv);  // question.cpp
int cmd_answer(const std::vector<std::string>& argv);    // online.cpp
int cmd_train(const std::vector<std::string>& argv);     // online.cpp
int cmd_predict(const std::vector<std::string>& argv);   // predict.cpp
int cmd_evaluate(const std::vector<std::string>& argv);  // evaluate.cpp
int cmd_export(const std::vector<std::string>& argv);    // export.cpp

}  // namespace mi
