// The classes a few-shot task draws its episodes from, read as its dataset option says (nothing is
// downloaded; root names local files):
//   double-mnist, double-fashion-mnist: the offline pair-composite benchmark (pair_composites.h)
//     made from the IDX files in root;
//   idx: the ten labels of the IDX files in root, five for training (from the training images) and
//     five for test (from the test images), chosen by the seed;
//   folders: root/train/<class>/<image> and root/test/<class>/<image>, PNG or JPEG, RGB;
//   omniglot: root/images_background (training) and root/images_evaluation (test), gray;
//   mini-imagenet: root/images/<file> with Ravi and Larochelle's root/train.csv and root/test.csv, RGB.
// Images are resized to imageSize x imageSize; decoded image files are kept in cacheDir (when set)
// so that a second load reads one file (images/image_cache.h).
#pragma once
#include "core/images/class_images.h"
#include "core/tasks/few_shot/few_shot_task.h"

namespace bilevel::core {

struct FewShotClasses {
  ClassImages train, test;
};

FewShotClasses readFewShotClasses(const FewShotOptions& options);

}  // namespace bilevel::core
