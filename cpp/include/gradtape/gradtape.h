#pragma once
// The whole public C++ API: tensors, variables, ops, tapes and custom gradients, and the
// scalar reverse mode gt::Real, and saved models (gt::load_saved_model).
#include "gradtape/dtype.h"
#include "gradtape/errors.h"
#include "gradtape/forward.h"
#include "gradtape/gradient.h"
#include "gradtape/ops.h"
#include "gradtape/optim.h"
#include "gradtape/program.h"
#include "gradtape/random.h"
#include "gradtape/real.h"
#include "gradtape/saved_model.h"
#include "gradtape/shape.h"
#include "gradtape/tape.h"
#include "gradtape/tensor.h"
#include "gradtape/variable.h"
